"""Chapter 12's two training recipes for benchmarks/bench_part2.py (settings only). Both train the same
WaveNet-style hierarchical model, the chapter's ``make_hierarchical`` (8 characters of context, 24-dimensional
embedding, 128 hidden units per level, 76,579 parameters) with the chapter's ``train``; only the recipe differs.

- LECTURE: the lecture's part 5: batch 32, 200,000 steps, learning rate 0.1, then 0.01 from step 150,000.
  On the 2-core machine it takes over ten minutes; ``--steps 20000`` runs a shortened version (same
  schedule shape; its dev loss is then not the lecture recipe's result).
- CHAPTER: the chapter's (notebooks/12_wavenet.ipynb): batch 256, 18,000 steps, learning rate from 0.3 down to
  0.003 along a cosine.
"""

NOTEBOOK = "12_wavenet"
BLOCK_SIZE = 8
LECTURE = dict(n_embd=24, n_hidden=128, steps=200_000, batch_size=32, lr=("step", 0.1, 0.01, 0.75))
CHAPTER = dict(n_embd=24, n_hidden=128, steps=18_000, batch_size=256, lr=("cosine", 0.3, 0.003))
