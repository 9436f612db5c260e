"""Chapter 11's two training recipes for benchmarks/bench_part2.py (settings only): the BatchNorm MLP trained
with manual gradients, the chapter's ``init_params``, ``forward_backward`` (via ``train_manual``),
``bn_calibrate`` and ``forward_eval``; no ``loss.backward()`` anywhere. Dev loss uses BatchNorm statistics
measured once over the whole training set after training, as in the chapter. block_size 3, n_embd 10,
n_hidden 64 (4,137 parameters).

- LECTURE: 200,000 steps of batch 32, lr 0.1, then 0.01 for the second half (the lecture's part 4)
- CHAPTER: 40,000 steps of batch 128, lr 0.4, then 0.04 for the second half (the chapter's)
"""

NOTEBOOK = "11_backprop_by_hand"
BLOCK_SIZE = 3
LECTURE = dict(n_embd=10, n_hidden=64, steps=200_000, batch_size=32, lr=("step", 0.1, 0.01, 0.5))
CHAPTER = dict(n_embd=10, n_hidden=64, steps=40_000, batch_size=128, lr=("step", 0.4, 0.04, 0.5))
