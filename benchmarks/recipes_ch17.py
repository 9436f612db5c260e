"""Chapter 17's Transformer recipes for benchmarks/bench_part3.py (settings only). All train mm_utils.Transformer
(``model="transformer"``, the book's GPT-2 style initialization) on whole-name sequences of the book's split with
chapter 13's loop (AdamW, betas (0.9, 0.99)); only the settings differ.

- MAKEMORE: karpathy/makemore's makemore.py defaults for ``--type transformer``: 4 layers, 4 heads, width 64,
  no dropout, batch 32, constant learning rate 5e-4, weight decay 0.01, no gradient clipping. makemore.py has no
  step count (``--max-steps -1`` trains until stopped); 20,000 steps is this bench's choice. (makemore's output
  layer has no bias, 27 parameters fewer, and keeps PyTorch's default initialization.)
- CHAPTER: the chapter's (notebooks/17_transformer.ipynb): training rows of ``row_len`` 32 positions, each holding
  several names (mm_utils.pack_sequences; the model is built with ``packed=True``), ``batch_size`` such rows per
  step (about 129 names), 9,000 steps (about 3 minutes on one thread); the learning rate is warmed up over the
  first 5% of the steps, then decays along a cosine to a hundredth of its peak (chapter 15's schedule); dropout
  0.05.
- NO_DROPOUT, MORE_DROPOUT: CHAPTER with dropout 0 and 0.1; the chapter quotes both beside its 0.05 (0.1 on three
  seeds).
- PACKED_10500: CHAPTER with dropout 0.1 and 10,500 steps, the chapter's previous recipe (about 4 minutes on one
  thread, over the 240-second target on slower machines); the chapter quotes it as the longer packed run.
- UNPACKED: the chapter's first recipe, one name per row of 16 positions, 128 names per step, 6,000 steps, dropout
  0.1 (about 4 minutes on one thread; the chapter quotes it).
- LONGER: UNPACKED with three times the steps (same schedule shape, about 12 minutes on one thread): where the
  unpacked model goes when the 4-minute budget is lifted. The chapter quotes it.
"""

NOTEBOOK = "17_transformer"
MAX_LEN = 15
MAKEMORE = dict(model="transformer", n_layer=4, n_head=4, n_embd=64, dropout=0.0, steps=20_000, batch_size=32,
                lr=("constant", 5e-4), weight_decay=0.01, betas=(0.9, 0.99), clip=None)
CHAPTER = dict(model="transformer", n_layer=3, n_head=4, n_embd=64, dropout=0.05, steps=9_000, batch_size=32,
               row_len=32, lr=("warmup_cosine", 0.01, 1e-4, 0.05), weight_decay=0.1, betas=(0.9, 0.99), clip=1.0)
NO_DROPOUT = dict(CHAPTER, dropout=0.0)
MORE_DROPOUT = dict(CHAPTER, dropout=0.1)
PACKED_10500 = dict(CHAPTER, dropout=0.1, steps=10_500)
UNPACKED = {k: v for k, v in dict(CHAPTER, dropout=0.1, steps=6_000, batch_size=128).items() if k != "row_len"}
LONGER = dict(UNPACKED, steps=18_000)
