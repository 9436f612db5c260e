"""Chapter 12's two training recipes for benchmarks/bench_part2.py (settings only). Both train the same
WaveNet-style hierarchical model, the chapter's ``make_hierarchical`` (8 characters of context, 24-dimensional
embedding, 128 hidden units per level, 76,579 parameters) with the chapter's ``train``; only the recipe differs.

- LECTURE: the lecture's part 5: batch 32, 200,000 steps, learning rate 0.1, then 0.01 from step 150,000.
  On the 2-core machine it takes over ten minutes; ``--steps 20000`` runs a shortened version (same
  schedule shape; its dev loss is then not the lecture recipe's result).
- CHAPTER: the chapter's (notebooks/12_wavenet.ipynb): batch 256, 18,000 steps, learning rate from 0.3 down to
  0.003 along a cosine.
- COMPARISON: the chapter's flat network (all 8 embeddings concatenated, one hidden layer of 200) and its
  small hierarchical model (embedding 10, 68 hidden units per level), each trained with the CHAPTER recipe's
  budget and schedule instead of the chapter's 2,000-step short recipe: is the hierarchy better once both
  are trained to the end? Run with ``--only flat hierarchical``.
  COMPARISON also holds ``l2``: exercise 1's answer, the CHAPTER recipe with L2 regularization (3e-4 times the sum
  of squares of the embedding table and the Linear weights) added to the loss, trained with the chapter's
  ``train_l2``; its train loss is stored too (the exercise compares the train/dev gap). Run with ``--only l2``.
"""

NOTEBOOK = "12_wavenet"
BLOCK_SIZE = 8
LECTURE = dict(n_embd=24, n_hidden=128, steps=200_000, batch_size=32, lr=("step", 0.1, 0.01, 0.75))
CHAPTER = dict(n_embd=24, n_hidden=128, steps=18_000, batch_size=256, lr=("cosine", 0.3, 0.003))
COMPARISON = {
    "flat": dict(model="flat", n_embd=10, n_hidden=200, steps=18_000, batch_size=256, lr=("cosine", 0.3, 0.003)),
    "hierarchical": dict(model="hierarchical", n_embd=10, n_hidden=68, steps=18_000, batch_size=256,
                         lr=("cosine", 0.3, 0.003)),
    "l2": dict(model="hierarchical", n_embd=24, n_hidden=128, steps=18_000, batch_size=256, lr=("cosine", 0.3, 0.003),
               l2=3e-4),
}
