"""Chapter 9's two training recipes for benchmarks/bench_part2.py (settings only; the model is the chapter's
``make_mlp``, trained by mm_utils.train_minibatch).

- LECTURE: the lecture's recipe: 11,897 parameters (C 27×10, W1 30×200, b1, W2 200×27, b2, all ``torch.randn``),
  batch 32 for 200,000 steps, learning rate 0.1, then 0.01 for the second half.
- CHAPTER: the chapter's final model (notebooks/09_mlp.ipynb, section 最终模型; tests/test_recipes.py checks
  that the notebook prints these settings): output layer scaled by 0.01 (exercise 2), 16-dimensional
  embedding, 300 hidden units, batch 256 for 20,000 steps, learning rate 0.2, then 0.02 for the second half.
"""

NOTEBOOK = "09_mlp"
BLOCK_SIZE = 3
LECTURE = dict(n_embd=10, n_hidden=200, out_scale=1.0, steps=200_000, batch_size=32, lr=("step", 0.1, 0.01, 0.5))
CHAPTER = dict(n_embd=16, n_hidden=300, out_scale=0.01, steps=20_000, batch_size=256, lr=("step", 0.2, 0.02, 0.5))
