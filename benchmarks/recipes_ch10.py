"""Chapter 10's two training recipes for benchmarks/bench_part2.py (settings only; both models are the
chapter's own code).

- LECTURE: the lecture's part-3 BatchNorm MLP as chapter 10 derives it (``init_bn_mlp``, ``bn_train_forward``,
  ``bn_forward``): 12,097 parameters, no b1, batch mean and (unbiased) std in training, running statistics
  updated with momentum 0.001 and used on the dev set; 3 characters of context; batch 32 for 200,000 steps,
  learning rate 0.1, then 0.01 for the second half.
- CHAPTER: the chapter's best model (notebooks/10_batchnorm.ipynb, the cell that defines ``final_mlp``, run as it
  is with the chapter's ``Net``; the runner checks that its sizes are these): 4 characters of context,
  16-dimensional embedding, Linear (no bias, gain 5/3) -> BatchNorm1d -> Tanh -> Linear (weights × 0.1),
  batch 256 for 20,000 steps, learning rate 0.2, then 0.02 for the second half.

BLOCK_SIZE = 4: the runner builds 4-character contexts; the lecture's recipe reads their last 3 columns
(``context=3``), which are exactly the 3-character contexts (same name, same position), so both recipes
see the same examples.
"""

NOTEBOOK = "10_batchnorm"
BLOCK_SIZE = 4
LECTURE = dict(model="running-std", context=3, n_embd=10, n_hidden=200, steps=200_000, batch_size=32,
               lr=("step", 0.1, 0.01, 0.5))
CHAPTER = dict(model="layers", n_embd=16, n_hidden=300, steps=20_000, batch_size=256, lr=("step", 0.2, 0.02, 0.5))
