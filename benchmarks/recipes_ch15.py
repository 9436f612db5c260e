"""Chapter 15's two training recipes for benchmarks/bench_part3.py (settings only). Both train the book's GRU
language model, mm_utils.RecurrentLM with mm_utils.GRUCell (torch's GRU convention), on whole-name sequences of
the book's split with chapter 13's loop (AdamW, betas (0.9, 0.99)); only the settings differ.

- MAKEMORE: karpathy/makemore's makemore.py defaults for ``--type gru``: embedding 64 (``--n-embd``), hidden
  state 64 (``--n-embd2``), batch 32, constant learning rate 5e-4, weight decay 0.01, no gradient clipping.
  makemore.py has no step count (``--max-steps -1`` trains until stopped); 10,000 steps is this bench's choice.
  (makemore's own cell puts the reset gate before the matrix product and weights the other side with z;
  chapter 15 shows the difference.)
- CHAPTER: the chapter's (notebooks/15_gru.ipynb): embedding 32, hidden state 128, batch 256, learning rate
  warmed up over the first 5% of the steps to 0.01, then cosine decay to 1e-4, weight decay 0.2, clipping
  at 1, 3,000 steps.
- RNN: the chapter's equal-parameter tanh RNN (hidden state 228, 66,783 parameters against the GRU's 66,683),
  trained with exactly the CHAPTER settings.
- LONGER: CHAPTER with twice the steps (6,000, same schedule shape, about 3.5 minutes on one thread): the GRU
  given at least the training time of chapter 17's Transformer (about 3 minutes). Chapter 17 quotes it.
"""

NOTEBOOK = "15_gru"
MAX_LEN = 15
MAKEMORE = dict(model="gru", n_embd=64, n_hidden=64, steps=10_000, batch_size=32, lr=("constant", 5e-4),
                weight_decay=0.01, betas=(0.9, 0.99), clip=None)
CHAPTER = dict(model="gru", n_embd=32, n_hidden=128, steps=3_000, batch_size=256,
               lr=("warmup_cosine", 0.01, 1e-4, 0.05), weight_decay=0.2, betas=(0.9, 0.99), clip=1.0)
RNN = dict(CHAPTER, model="rnn", n_hidden=228)
LONGER = dict(CHAPTER, steps=6_000)
