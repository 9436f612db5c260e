"""makemore 中文教程的共享代码。

这里只放各章已经在正文里一步步推导过的代码；每个函数的文档字符串写明它出自哪一章。
函数只依赖传入的参数（没有模块级的可变状态），方便后面的章节直接 ``import mm_utils`` 复用。

模块按章节顺序排列（附录 A1 的快速路径在最后）。约定：编号张量（``xs``、``ys``、``X``、``Y``）都是 int64，
即 ``torch.tensor`` 从 Python 整数得到、张量索引需要的类型；计数矩阵 ``N`` 是 int32，概率矩阵 ``P`` 是 float32。

数据流（第一部分）： names.txt → load_words → build_vocab (stoi, itos) → bigram_indices (xs, ys)
→ count_bigrams (N) → normalize_rows (P) → sample_names / avg_nll；
split_words 划分训练/开发/测试集；网络：(xs, ys) → bigram_net_loss → train_bigram_net (W)。
附录 A1 的快速路径：bigram_indices_joined、sample_names_batched，以及由计数 N 算同一个损失的 count_loss。
数据流（第二部分）： words → split_words → build_dataset (X, Y) → 模型（Embedding、Linear、BatchNorm1d、Tanh、
FlattenConsecutive、Sequential）→ logits → F.cross_entropy → train_minibatch；evaluate_loss 在开发集/测试集上
评估，sample_model 采样。
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch

__all__ = [
    "NAMES_URLS",
    "NAMES_URL",
    "NAMES_SHA256",
    "DataError",
    "default_names_path",
    "names_file",
    "load_words",
    "build_vocab",
    "bigram_indices",
    "count_bigrams",
    "normalize_rows",
    "sample_names",
    "avg_nll",
    "split_words",
]

# ---------------------------------------------------------------------------
# 第 1 章：数据加载
# ---------------------------------------------------------------------------

#: names.txt 的下载地址（按顺序尝试）与校验和（见 data/README.md）。每个地址下载到的内容都要通过同一个
#: sha256 校验。第一个是规范地址；jsDelivr 是 GitHub 文件的 CDN 镜像，在 raw.githubusercontent.com 连不上时常常能用。
NAMES_URLS = (
    "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt",
    "https://cdn.jsdelivr.net/gh/karpathy/makemore@master/names.txt",
)
NAMES_URL = NAMES_URLS[0]
NAMES_SHA256 = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"

#: 环境变量：覆盖数据文件路径 / 下载地址（多个地址用逗号分隔；测试与 Colab 引导单元会用到）。
ENV_PATH = "MM_NAMES_PATH"
ENV_URL = "MM_NAMES_URL"


class DataError(RuntimeError):
    """数据文件缺失、损坏或格式不对。消息里总是写明是哪个文件、怎么修。"""


def default_names_path() -> Path:
    """数据文件的默认位置：``$MM_NAMES_PATH``，否则是本文件上一级目录里的 ``data/names.txt``。

    第 1 章。路径由 ``__file__`` 推出，所以无论从哪个工作目录调用都指向同一个文件。
    """
    env = os.environ.get(ENV_PATH)
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parent.parent / "data" / "names.txt"


def _download(urls: list[str], dest: Path, sha256: str, timeout: float, fix: str | None = None) -> None:
    """依次尝试 ``urls``，把第一个通过 sha256 校验的内容原子地写到 ``dest``；全部失败时报错并列出原因，
    最后是 ``fix``（怎样手动补上这个文件；缺省是 names.txt 的说明）。"""
    tried = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                data = resp.read()
        except (urllib.error.URLError, OSError, ValueError) as e:  # 连不上、HTTP 错误、超时、地址写错
            reason = e if isinstance(e, urllib.error.HTTPError) else getattr(e, "reason", e)
            tried.append(f"  {url}\n    {reason}")
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest != sha256:
            tried.append(f"  {url}\n    内容校验失败：sha256 是 {digest}，应为 {sha256}")
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.stem}-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, dest)  # 同一目录内改名是原子的：要么是完整文件，要么没有文件
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return
    if fix is None:
        fix = (f"\n请联网后重试；或用浏览器手动下载\n  {NAMES_URL}\n保存为 {dest}"
               f"（也可以设置环境变量 {ENV_PATH} 指向已有的 names.txt，或用 {ENV_URL} 指定别的镜像，多个用逗号分隔）。")
    raise DataError(
        f"找不到数据文件 {dest}，下载也失败了，没有写入任何文件。试过的地址（每个最多等 {timeout:g} 秒）：\n"
        + "\n".join(tried)
        + fix
    )


def names_file(
    path: str | os.PathLike | None = None,
    *,
    urls: str | Sequence[str] | None = None,
    sha256: str = NAMES_SHA256,
    timeout: float = 15.0,
) -> Path:
    """返回数据文件的路径，保证它存在（第 1 章）。

    ``path`` 缺省时用 :func:`default_names_path`；文件不存在就依次尝试 ``urls``（一个地址、逗号分隔的
    多个地址或地址列表；缺省为 ``$MM_NAMES_URL``，再缺省为 :data:`NAMES_URLS`）下载一次，
    校验 sha256 后原子写入；每个地址最多等 ``timeout`` 秒。已经存在的文件不重新校验（可能是你手动
    放进去的），只由 :func:`load_words` 检查格式。
    """
    p = Path(path) if path is not None else default_names_path()
    if not p.exists():
        urls = urls or os.environ.get(ENV_URL) or NAMES_URLS
        if isinstance(urls, str):
            urls = [u.strip() for u in urls.split(",") if u.strip()]
        _download(list(urls), p, sha256, timeout)
    return p


def load_words(
    path: str | os.PathLike | None = None,
    *,
    urls: str | Sequence[str] | None = None,
    sha256: str = NAMES_SHA256,
    timeout: float = 15.0,
) -> list[str]:
    """读取 names.txt，返回名字列表（第 1 章）。

    - 文件的位置与下载见 :func:`names_file`（参数含义相同）。
    - 容忍 Windows 换行（``\\r\\n``）和文件末尾的空行：``str.splitlines()`` 会处理换行，
      末尾的空行被去掉。
    - 拒绝：空文件、文件中间的空行、含 a–z 以外字符的行（错误消息写明行号）。
    """
    p = names_file(path, urls=urls, sha256=sha256, timeout=timeout)
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"{p} 不是 UTF-8 文本（第 {e.start} 字节）。请删除它后重新下载：\n  {NAMES_URL}") from None
    words = text.splitlines()
    while words and words[-1].strip() == "":
        words.pop()  # 末尾的空行（多一个换行符）不算名字
    if not words:
        raise DataError(f"{p} 是空的。删除它后重新运行会自动下载，或手动下载：\n  {NAMES_URL}")
    for lineno, w in enumerate(words, start=1):
        if not w or not all("a" <= c <= "z" for c in w):
            raise DataError(
                f"{p} 第 {lineno} 行是 {w!r}：每行必须是一个只含小写字母 a–z 的名字。\n"
                f"请修正这一行，或删除文件后重新下载：\n  {NAMES_URL}"
            )
    return words


# ---------------------------------------------------------------------------
# 第 3 章：字符表与计数矩阵
# ---------------------------------------------------------------------------


def build_vocab(words: list[str]) -> tuple[dict[str, int], dict[int, str]]:
    """字符表（第 3 章）：``'.'`` 的编号是 0，其余字符按字母顺序从 1 开始编号。

    返回 ``(stoi, itos)``：字符 → 编号，编号 → 字符，两者互为反函数。
    ``'.'`` 同时充当起始符和结束符，所以名字里不能出现它。
    """
    chars = sorted(set("".join(words)))
    if "." in chars:
        bad = next(w for w in words if "." in w)
        raise ValueError(f"build_vocab: 名字 {bad!r} 含有 '.'，它被保留作起止符")
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    itos = {i: s for s, i in stoi.items()}
    return stoi, itos


def bigram_indices(words: list[str], stoi: dict[str, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """把所有名字拆成二元组，返回编号张量 ``(xs, ys)``，形状都是 ``(num,)``，dtype int64（第 3 章）。

    每个名字前后各加一个 ``'.'``（编号 0）：``emma`` → ``.e em mm ma a.``，共 ``len(w) + 1`` 个二元组；
    ``xs[k]`` 是第 k 个二元组的第一个字符，``ys[k]`` 是第二个。
    """
    if stoi.get(".") != 0:
        raise ValueError("bigram_indices: stoi 里 '.' 的编号必须是 0（用 build_vocab 建立字符表）")
    xs: list[int] = []
    ys: list[int] = []
    for w in words:
        try:
            ix = [0] + [stoi[c] for c in w] + [0]
        except KeyError as e:
            raise ValueError(f"bigram_indices: 字符 {e.args[0]!r}（在 {w!r} 中）不在 stoi 里") from None
        xs.extend(ix[:-1])
        ys.extend(ix[1:])
    return torch.tensor(xs, dtype=torch.int64), torch.tensor(ys, dtype=torch.int64)


def count_bigrams(xs: torch.Tensor, ys: torch.Tensor, vocab_size: int = 27) -> torch.Tensor:
    """向量化计数（第 3 章）：``N[i, j]`` 是二元组 (i, j) 出现的次数，形状 ``(V, V)``，dtype int32。

    把每对 (i, j) 编成一个数 ``i * V + j``（0 ≤ j < V，所以一一对应），用一次 ``torch.bincount``
    数完，再还原成 V×V。结果与逐个 ``N[ix1, ix2] += 1`` 的循环完全相同。
    （``N[xs, ys] += 1`` 不行：重复的 (i, j) 只会加一次。）``xs``、``ys`` 是同样长度的非空 int64 编号。
    """
    if xs.shape != ys.shape:
        raise ValueError(f"count_bigrams: xs 与 ys 应是同样长度，得到形状 {tuple(xs.shape)} 和 {tuple(ys.shape)}")
    # 越界的编号会被 i * V + j 悄悄数进别的格子（例如 (0, 27) 变成 (1, 0)），所以必须先查范围
    (xlo, xhi), (ylo, yhi) = torch.aminmax(xs), torch.aminmax(ys)  # 两次遍历而不是四次
    lo, hi = min(xlo.item(), ylo.item()), max(xhi.item(), yhi.item())
    if lo < 0 or hi >= vocab_size:
        raise ValueError(f"count_bigrams: 编号必须在 0..{vocab_size - 1} 之间，得到的范围是 {lo}..{hi}")
    flat = torch.bincount(xs * vocab_size + ys, minlength=vocab_size * vocab_size)
    return flat.view(vocab_size, vocab_size).to(torch.int32)


# ---------------------------------------------------------------------------
# 第 4 章：采样
# ---------------------------------------------------------------------------


def _check_sampling_args(fn: str, P: torch.Tensor) -> None:
    """采样器唯一的参数检查：``P`` 的每一行是一个概率分布（第 5 章的 keepdim 错误会让列和为 1）。"""
    if (P < 0).any() or not torch.allclose(P.sum(1).double(), torch.ones(P.shape[0], dtype=torch.float64), atol=1e-4):
        raise ValueError(f"{fn}: P 的元素应非负且每一行之和为 1（先用 normalize_rows 归一化）")


def _name_too_long(fn: str, max_len: int) -> RuntimeError:
    return RuntimeError(
        f"{fn}: 名字长到 {max_len} 个字符还没有结束：从某些字符出发很难（或不可能）再采样到 '.'（编号 0），"
        "请检查 P 里通向 '.' 的那一列（P[:, 0]）"
    )


def sample_names(
    P: torch.Tensor, itos: dict[int, str], num: int, g: torch.Generator, max_len: int = 1000
) -> list[str]:
    """从概率矩阵 ``P`` 逐字符采样 ``num`` 个名字（第 4 章）。

    从编号 0（``'.'``）出发，每步用 ``torch.multinomial`` 从当前行抽下一个字符，再次抽到 0 时结束。
    结果由生成器 ``g`` 决定：同一个种子、同一个 torch 版本给出同样的名字。
    一个名字长到 ``max_len`` 个字符仍未结束时报 ``RuntimeError``（``P`` 里到不了 ``'.'`` 时循环不会自己停）。
    上限 1000 很宽：连第 4 章的均匀模型（每步以 1/27 结束）名字长到 1000 的概率也只有 (26/27)^1000 ≈ 5e-17。
    """
    _check_sampling_args("sample_names", P)
    names = []
    for _ in range(num):
        out = []
        ix = 0
        while True:
            ix = torch.multinomial(P[ix], num_samples=1, replacement=True, generator=g).item()
            if ix == 0:
                break
            out.append(itos[ix])
            if len(out) >= max_len:
                raise _name_too_long("sample_names", max_len)
        names.append("".join(out))
    return names


# ---------------------------------------------------------------------------
# 第 5 章：按行归一化（广播）
# ---------------------------------------------------------------------------


def normalize_rows(N: torch.Tensor) -> torch.Tensor:
    """把计数矩阵按行归一化成概率矩阵 ``P``（第 5 章）：每行之和为 1，形状不变，dtype float32。

    关键是 ``keepdim=True``：行和的形状是 ``(V, 1)``，广播时沿列复制，逐行相除。
    返回新张量，不修改 ``N``。全零的行无法归一化，会报错（先做平滑，见第 6 章）。
    """
    P = N.to(torch.float32, copy=True)  # 新张量：即使 N 已是浮点数，也不会被下面的原地除法改动
    row_sums = P.sum(1, keepdim=True)  # (V, 1)
    if (row_sums == 0).any():
        bad = (row_sums.squeeze(1) == 0).nonzero().flatten().tolist()
        raise ValueError(f"normalize_rows: 第 {bad} 行全为零，无法归一化（可以先加伪计数平滑）")
    P /= row_sums  # (V, V) / (V, 1) -> (V, V)，原地除，不再多分配一个 V×V 张量
    return P


# ---------------------------------------------------------------------------
# 第 6 章：负对数似然
# ---------------------------------------------------------------------------


def avg_nll(P: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor) -> float:
    """模型 ``P`` 在二元组 ``(xs, ys)`` 上的平均负对数似然（第 6 章）：``-mean(log P[xs, ys])``。

    ``P[xs, ys]`` 一次取出每个二元组的概率（形状 ``(num,)``），取对数、求平均、取负号。
    概率为 0 的二元组给出 ``inf``——这正是第 6 章要用平滑解决的问题。
    """
    return -P[xs, ys].log().mean().item()


def split_words(words: list[str], g: torch.Generator) -> tuple[list[str], list[str], list[str]]:
    """把名字随机分成训练集、开发集、测试集，80% / 10% / 10%（第 6 章练习）。

    用 ``torch.randperm(len(words), generator=g)`` 打乱顺序，前 ``int(0.8 * n)`` 个做训练集，
    到 ``int(0.9 * n)`` 为止做开发集，其余做测试集（这里用整数运算算这两个数，免得浮点误差少算一个）。
    三份互不重叠、合起来正好是 ``words``；同一个种子给出同样的划分。不修改 ``words``。
    """
    n = len(words)
    n1, n2 = n * 8 // 10, n * 9 // 10
    perm = torch.randperm(n, generator=g).tolist()
    return (
        [words[i] for i in perm[:n1]],
        [words[i] for i in perm[n1:n2]],
        [words[i] for i in perm[n2:]],
    )


# ---------------------------------------------------------------------------
# 第 7、8 章：one-hot 神经网络的损失与训练
# ---------------------------------------------------------------------------

__all__ += ["bigram_net_loss", "train_bigram_net"]


def _check_bigram_pairs(fn: str, xs: torch.Tensor, ys: torch.Tensor, vocab_size: int) -> None:
    """读者真会碰到的两种输入错误：没有样本（损失会是 nan），以及不属于这个字符表的编号
    （例如编号来自另一个字符表；torch 自己只报一句看不出原因的 index out of range）。"""
    if xs.numel() == 0:
        raise ValueError(f"{fn}: xs 与 ys 为空，没有样本可以算损失")
    if min(xs.min(), ys.min()) < 0 or max(xs.max(), ys.max()) >= vocab_size:
        raise ValueError(f"{fn}: 编号必须在 0..{vocab_size - 1} 之间（字符表有 {vocab_size} 个字符）")


def bigram_net_loss(W: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor, reg: float = 0.0) -> torch.Tensor:
    """二元组神经网络的损失：平均负对数似然 + ``reg * (W**2).mean()``（第 7、8 章）。

    第 7 章的前向传播是 ``F.one_hot(xs, V).float() @ W`` → softmax → 取标签的概率 → ``-log`` → 平均。
    第 8 章说明 one-hot 向量乘 ``W`` 就是取出 ``W`` 的第 ``xs`` 行，所以 ``logits = W[xs]``
    （这里写成等价的 ``W.index_select(0, xs)``，附录 A1 解释为什么它的反向传播更快）；
    第 7 章练习 1 说明 softmax 之后的几步合起来就是 ``F.cross_entropy(logits, ys)``。
    ``reg`` 是第 8 章的 L2 正则化强度（把 ``W`` 拉向 0，即拉向均匀分布）。
    返回标量张量，可以对它 ``backward()``。``W`` 全为 0 且 ``reg`` 任意时，损失是 ``log(V)``。
    """
    _check_bigram_pairs("bigram_net_loss", xs, ys, W.shape[0])
    # (num, V)：与 W[xs]、one_hot(xs).float() @ W 相同的按行取出。index_select 的反向传播在多线程 CPU 上
    # 比 W[xs] 的快得多（W[xs] 的反向让各线程争着往同样的 27 行里做原子加法，见附录 A1）。
    logits = W.index_select(0, xs)
    return torch.nn.functional.cross_entropy(logits, ys) + reg * (W**2).mean()


def train_bigram_net(
    xs: torch.Tensor,
    ys: torch.Tensor,
    *,
    steps: int,
    lr: float,
    reg: float = 0.0,
    g: torch.Generator | None = None,
    W: torch.Tensor | None = None,
    vocab_size: int = 27,
) -> tuple[torch.Tensor, list[float]]:
    """用全批量梯度下降在全部样本 ``(xs, ys)`` 上训练二元组神经网络，返回 ``(W, losses)``（第 7、8 章）。

    - 起点：给了 ``W`` 就从它的副本出发（不修改传入的张量，``vocab_size`` 取 ``W.shape[0]``）；
      否则给了 ``g`` 就用 ``torch.randn((V, V), generator=g)``；两者都没给就从全零（均匀模型）出发。
    - 每一步就是第 7 章的四行：算损失 ``bigram_net_loss(W, xs, ys, reg)``（每个样本都参与）、
      ``W.grad = None``、``loss.backward()``、``W.data += -lr * W.grad``。
      ``losses[k]`` 是第 ``k`` 次更新**之前**的损失（含正则项），共 ``steps`` 个。
    - 返回的 ``W`` 不再需要梯度；最终损失请用 ``bigram_net_loss(W, xs, ys, reg)`` 另算。
    """
    if W is not None:
        vocab_size = W.shape[0]
        W = W.detach().clone()
    elif g is not None:
        W = torch.randn((vocab_size, vocab_size), generator=g)
    else:
        W = torch.zeros((vocab_size, vocab_size))
    _check_bigram_pairs("train_bigram_net", xs, ys, vocab_size)
    W.requires_grad_(True)
    losses: list[float] = []
    for _ in range(steps):
        loss = bigram_net_loss(W, xs, ys, reg)
        losses.append(loss.item())
        W.grad = None
        loss.backward()
        W.data += -lr * W.grad
    return W.detach(), losses


# ---------------------------------------------------------------------------
# 第 9 章：多层感知机（MLP）语言模型
# 数据流： words → split_words → build_dataset (X, Y) → C[X]（嵌入）→ 各层 → logits
# → F.cross_entropy → train_minibatch；evaluate_loss 在某个划分上评估，sample_model 采样。
# ---------------------------------------------------------------------------

__all__ += ["build_dataset", "build_splits", "evaluate_loss", "train_minibatch", "step_lr", "smooth", "best_time",
            "sample_model"]


def build_dataset(words: list[str], stoi: dict[str, int], block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """上下文窗口数据集（第 9 章）：返回 ``X``（形状 ``(num, block_size)``）和 ``Y``（形状 ``(num,)``），都是 int64。

    每个名字从 ``block_size`` 个 ``'.'`` 组成的上下文出发；每读一个字符，就记下一行
    （当前上下文 → 这个字符），再把上下文左移一格、把这个字符接在末尾。名字的结尾 ``'.'``
    也是一个标签，所以一个名字贡献 ``len(w) + 1`` 行：``emma`` 在 ``block_size=3`` 时给出
    ``... → e``、``..e → m``、``.em → m``、``emm → a``、``mma → .``。
    """
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"build_dataset: block_size 应是正整数，得到 {block_size!r}")
    X: list[list[int]] = []
    Y: list[int] = []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            if ch not in stoi:
                raise ValueError(f"build_dataset: 字符 {ch!r}（在 {w!r} 中）不在字符表 stoi 里")
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X, dtype=torch.int64).view(-1, block_size), torch.tensor(Y, dtype=torch.int64)


def build_splits(
    splits: tuple[list[str], list[str], list[str]], stoi: dict[str, int], block_size: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """全书划分的六个张量（第 9 章）：``Xtr, Ytr, Xdev, Ydev, Xte, Yte``。

    ``splits`` 是 ``split_words`` 给出的 (训练, 开发, 测试) 三组名字；每组分别用 ``build_dataset`` 构造上下文窗口
    （先划分、再构造，一个名字只落在一个划分里）。
    """
    out: list[torch.Tensor] = []
    for ws in splits:
        out.extend(build_dataset(ws, stoi, block_size))
    Xtr, Ytr, Xdev, Ydev, Xte, Yte = out
    return Xtr, Ytr, Xdev, Ydev, Xte, Yte


def _switchable(model) -> list:
    """模型里带 ``training`` 开关的部分：``Sequential`` 的各层（第 12 章），或者带开关的单个层（第 10 章）；
    普通的前向函数（第 9 章）没有开关，返回空列表。"""
    if hasattr(model, "layers"):
        return [part for layer in model.layers for part in _switchable(layer)]
    return [model] if hasattr(model, "training") else []


@contextlib.contextmanager
def _inference_mode(model) -> Iterator[None]:
    """在 ``with`` 块里把模型切换到推理模式（``training = False``），结束时把每一层恢复成原来的模式。"""
    parts = _switchable(model)
    before = [part.training for part in parts]
    for part in parts:
        part.training = False
    try:
        yield
    finally:
        for part, mode in zip(parts, before):
            part.training = mode


def evaluate_loss(forward, X: torch.Tensor, Y: torch.Tensor, batch_size: int = 4096) -> float:
    """模型在一个划分上的平均交叉熵损失（第 9 章），不记录梯度。

    ``forward`` 把上下文 ``X``（``(num, block_size)``）映射成 logits（``(num, V)``）。
    按 ``batch_size`` 行一块计算 ``F.cross_entropy``，再按每块的行数加权平均（与第 13 章的 ``evaluate_model``
    相同）：和一次算完只差浮点舍入（划分不超过一块时完全相同），却不必同时存下整个划分的中间张量。
    18 万行的训练集一次算完时，中间张量有几百 MB，分块反而快几倍。
    由书中的层搭成的模型（第 10、12 章：``BatchNorm1d``、``Sequential``）在评估期间处于推理模式，
    评估之后恢复原来的模式：评估不会改动运行统计量。普通的前向函数原样调用。
    """
    if len(X) != len(Y):
        raise ValueError(f"evaluate_loss: X 与 Y 的行数不同：{len(X)} 和 {len(Y)}")
    if len(Y) == 0:
        raise ValueError("evaluate_loss: 划分是空的")
    total = 0.0
    with torch.no_grad(), _inference_mode(forward):
        for i in range(0, len(Y), batch_size):
            Yb = Y[i : i + batch_size]
            total += torch.nn.functional.cross_entropy(forward(X[i : i + batch_size]), Yb).item() * len(Yb)
    return total / len(Y)


def train_minibatch(
    forward,
    parameters: list[torch.Tensor],
    X: torch.Tensor,
    Y: torch.Tensor,
    *,
    steps: int,
    batch_size: int,
    lr,
    g: torch.Generator,
    loss=torch.nn.functional.cross_entropy,
) -> list[float]:
    """小批量梯度下降（第 9 章），返回每一步小批量上的损失 ``lossi``。

    每一步：用 ``g`` 从 ``X`` 里随机取 ``batch_size`` 行，算出 ``loss(forward(X[ix]), Y[ix])``
    （默认是交叉熵），清零梯度、``backward()``，再把每个参数沿梯度反方向走一步 ``p -= lr * p.grad``。
    ``forward`` 把上下文映射成 logits，和 ``evaluate_loss`` 的第一个参数一样（前向函数或模型）。
    ``loss`` 可以换成别的“(logits, 标签) → 标量”的函数，例如在交叉熵上再加正则项。
    ``lr`` 可以是一个数，也可以是“步数 → 学习率”的函数（学习率衰减）。
    ``parameters`` 里的张量必须 ``requires_grad=True``；它们被原地更新。
    """
    lossi: list[float] = []
    for i in range(steps):
        ix = torch.randint(0, X.shape[0], (batch_size,), generator=g)
        batch_loss = loss(forward(X[ix]), Y[ix])
        for p in parameters:
            p.grad = None
        batch_loss.backward()
        step_lr = lr(i) if callable(lr) else lr
        with torch.no_grad():
            for p in parameters:
                p -= step_lr * p.grad
        lossi.append(batch_loss.item())
    return lossi


def step_lr(lr0: float, lr1: float, at: int):
    """学习率衰减（第 9 章）：第 ``at`` 步之前是 ``lr0``，从第 ``at`` 步起是 ``lr1``；返回“步数 → 学习率”的函数，
    可以直接作为 ``train_minibatch`` 的 ``lr``。"""
    return lambda i: lr0 if i < at else lr1


def smooth(xs: list[float], window: int) -> list[float]:
    """每 ``window`` 个数取平均（第 9 章，画小批量损失曲线用），去掉末尾凑不满的一段。"""
    t = torch.tensor(xs[: len(xs) // window * window])
    return t.view(-1, window).mean(1).tolist()


def best_time(fn, repeats: int) -> float:
    """调用 ``fn()`` ``repeats`` 次，返回最快一次的秒数（第 9 章）。

    取最小值而不是平均值：机器上别的程序只会让某一次变慢，不会让它变快。``fn`` 照常运行（第 9 章正是要量
    前向加反向传播的时间）；只量推理时，调用者自己把调用放进 ``with torch.no_grad():``，不建计算图。
    """
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def sample_model(
    forward,
    itos: dict[int, str],
    num: int,
    g: torch.Generator,
    block_size: int,
    max_len: int = 1000,
) -> list[str]:
    """从一个“上下文 → logits”的模型采样 ``num`` 个名字（第 9 章）。

    上下文从 ``block_size`` 个 ``'.'`` 出发；每一步 ``forward`` 给出形状 ``(1, V)`` 的 logits，
    softmax 之后用 ``torch.multinomial``（生成器 ``g``）抽下一个字符，抽到 ``'.'``（编号 0）时结束。
    一个名字长到 ``max_len`` 个字符仍未结束时报错（模型几乎不给 ``'.'`` 概率，例如还没训练好）。
    与 ``evaluate_loss`` 一样，由书中的层搭成的模型在采样期间处于推理模式，之后恢复原来的模式。
    """
    names = []
    with torch.no_grad(), _inference_mode(forward):
        for _ in range(num):
            context = [0] * block_size
            out = []
            while True:
                logits = forward(torch.tensor([context]))
                probs = torch.softmax(logits, dim=1)
                ix = torch.multinomial(probs, num_samples=1, generator=g).item()
                if ix == 0:
                    break
                out.append(itos[ix])
                if len(out) >= max_len:
                    raise RuntimeError(
                        f"sample_model: 名字长到 {max_len} 个字符还没有结束：模型很少采样到 '.'（编号 0）"
                    )
                context = context[1:] + [ix]
            names.append("".join(out))
    return names


# ---------------------------------------------------------------------------
# 第 10 章：层（模仿 torch.nn 的写法：__call__ 做前向，parameters() 列出参数，.out 保存输出）
# ---------------------------------------------------------------------------

__all__ += ["Linear", "BatchNorm1d", "Tanh"]


class Linear:
    """全连接层 ``x @ weight + bias``（第 10 章）。

    权重按 Kaiming 的思路初始化为 ``randn(fan_in, fan_out) / sqrt(fan_in)``：输入的各分量方差为 1 时，
    输出的方差也约为 1。后面接 tanh 时第 10 章再乘以增益 5/3（创建后 ``layer.weight *= 5/3``）。
    """

    def __init__(self, fan_in: int, fan_out: int, bias: bool = True, g: torch.Generator | None = None):
        self.weight = torch.randn((fan_in, fan_out), generator=g) / fan_in**0.5
        self.bias = torch.zeros(fan_out) if bias else None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.out = x @ self.weight
        if self.bias is not None:
            self.out = self.out + self.bias
        return self.out

    def parameters(self) -> list[torch.Tensor]:
        return [self.weight] + ([] if self.bias is None else [self.bias])


class BatchNorm1d:
    """批归一化（第 10 章；三维输入见第 12 章）。

    训练模式（``training = True``）用当前批次的均值和**有偏**方差（除以 n）标准化，再乘 ``gamma``、
    加 ``beta``；同时按动量更新 ``running_mean`` 和 ``running_var``，后者用**无偏**方差（除以 n - 1）。
    推理模式用 running 统计量。这两点都与 ``torch.nn.BatchNorm1d`` 相同。
    输入是 ``(N, C)`` 时在第 0 维上求统计量；是 ``(N, L, C)`` 时在第 0、1 两维上求（第 12 章修正的问题）。
    """

    def __init__(self, dim: int, eps: float = 1e-5, momentum: float = 0.1):
        self.eps = eps
        self.momentum = momentum
        self.training = True
        self.gamma = torch.ones(dim)
        self.beta = torch.zeros(dim)
        self.running_mean = torch.zeros(dim)
        self.running_var = torch.ones(dim)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            dims = tuple(range(x.dim() - 1))  # (0,) 或 (0, 1)
            xmean = x.mean(dims)
            xvar = x.var(dims, unbiased=False)
            with torch.no_grad():
                n = x.numel() // x.shape[-1]
                unbiased = xvar * n / (n - 1) if n > 1 else xvar
                self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * xmean
                self.running_var = (1 - self.momentum) * self.running_var + self.momentum * unbiased
        else:
            xmean, xvar = self.running_mean, self.running_var
        xhat = (x - xmean) / torch.sqrt(xvar + self.eps)
        self.out = self.gamma * xhat + self.beta
        return self.out

    def parameters(self) -> list[torch.Tensor]:
        return [self.gamma, self.beta]

    def train(self, mode: bool = True) -> BatchNorm1d:
        """切换训练模式（``mode=False`` 即推理模式），与 ``torch.nn.Module.train`` 相同；返回层本身。"""
        self.training = mode
        return self

    def eval(self) -> BatchNorm1d:
        """切换到推理模式：``train(False)``。"""
        return self.train(False)


class Tanh:
    """逐元素的 tanh 激活（第 10 章）。没有参数。"""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.out = torch.tanh(x)
        return self.out

    def parameters(self) -> list[torch.Tensor]:
        return []


# ---------------------------------------------------------------------------
# 第 12 章：WaveNet 式的层级模型用到的层
# ---------------------------------------------------------------------------

__all__ += ["Embedding", "FlattenConsecutive", "Sequential", "cosine_lr"]


class Embedding:
    """嵌入表（第 12 章）：``weight[IX]``，与 ``torch.nn.Embedding`` 相同；``weight`` 初始化为 ``randn``。"""

    def __init__(self, num_embeddings: int, embedding_dim: int, g: torch.Generator | None = None):
        self.weight = torch.randn((num_embeddings, embedding_dim), generator=g)

    def __call__(self, IX: torch.Tensor) -> torch.Tensor:
        self.out = self.weight[IX]
        return self.out

    def parameters(self) -> list[torch.Tensor]:
        return [self.weight]


class FlattenConsecutive:
    """把相邻的 ``n`` 个位置的向量接成一个（第 12 章）：``(B, T, C) -> (B, T // n, C * n)``。

    结果只剩一个位置时去掉这一维，得到 ``(B, C * n)``。只改变视图（``view``），不复制数据。
    """

    def __init__(self, n: int):
        self.n = n

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        if T % self.n:
            raise ValueError(f"FlattenConsecutive: 序列长度 {T} 不能被 {self.n} 整除")
        x = x.view(B, T // self.n, C * self.n)
        if x.shape[1] == 1:
            x = x.squeeze(1)
        self.out = x
        return self.out

    def parameters(self) -> list[torch.Tensor]:
        return []


class Sequential:
    """按顺序调用一串层（第 12 章）；``parameters()`` 把各层的参数连成一个列表。

    ``train()`` / ``eval()`` 切换其中每个有模式的层（``BatchNorm1d``）；``training`` 表示是否有层处于训练模式。
    """

    def __init__(self, layers: list):
        self.layers = layers

    @property
    def training(self) -> bool:
        return any(part.training for part in _switchable(self))

    def train(self, mode: bool = True) -> Sequential:
        """把每个有模式的层切换到训练模式（``mode=False`` 即推理模式）；返回模型本身。"""
        for part in _switchable(self):
            part.training = mode
        return self

    def eval(self) -> Sequential:
        """切换到推理模式：``train(False)``。"""
        return self.train(False)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        self.out = x
        return self.out

    def parameters(self) -> list[torch.Tensor]:
        return [p for layer in self.layers for p in layer.parameters()]


def cosine_lr(lr_max: float, lr_min: float, steps: int):
    """余弦学习率（第 12 章）：第 ``i`` 步是 ``lr_min + (lr_max - lr_min) * (1 + cos(pi * i / steps)) / 2``，
    从 ``lr_max`` 平滑地降到第 ``steps`` 步的 ``lr_min``；返回“步数 → 学习率”的函数。"""
    return lambda i: lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(math.pi * i / steps))


# ---------------------------------------------------------------------------
# 附录 A1：向量化与性能（快速路径）
# 这些函数与前面章节的函数结果相同（或分布相同），只是把 Python 循环换成少数几次张量运算。
# ---------------------------------------------------------------------------

__all__ += ["bigram_indices_joined", "sample_names_batched"]


def bigram_indices_joined(words: list[str], stoi: dict[str, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """与 :func:`bigram_indices` 结果完全相同，但不逐字符循环（附录 A1）。

    把所有名字用 ``'.'`` 连成一个字符串 ``".emma.olivia."``：相邻两个名字共用中间那个 ``'.'``，
    它既是前一个名字的结束符，又是后一个名字的起始符，所以这个字符串里相邻字符组成的二元组
    恰好就是所有名字的二元组，一个不多一个不少。再把整个字符串变成字节张量，用一张
    256 项的查找表一次换成编号：``xs`` 是去掉最后一个编号的序列，``ys`` 是去掉第一个的序列。

    要求 ``stoi`` 的键都是单个 ASCII 字符（本书的字符表就是这样）；与 :func:`bigram_indices` 一样，
    ``'.'`` 的编号不是 0 或者遇到 ``stoi`` 里没有的字符时报 ``ValueError``。
    """
    if stoi.get(".") != 0:
        raise ValueError("bigram_indices_joined: stoi 里 '.' 的编号必须是 0（用 build_vocab 建立字符表）")
    lut = torch.full((256,), -1, dtype=torch.int64)  # 字节值 -> 编号；-1 表示不在字符表里
    for ch, i in stoi.items():
        lut[ord(ch)] = i
    text = "." + ".".join(words) + "."
    codes = torch.frombuffer(bytearray(text.encode("utf-8")), dtype=torch.uint8).long()  # (len(text),)
    ix = lut[codes]  # 一次查表，代替逐字符的 stoi[c]
    if (ix < 0).any():
        bad = next(c for c in text if c not in stoi)
        raise ValueError(f"bigram_indices_joined: 字符 {bad!r} 不在 stoi 里")
    return ix[:-1].clone(), ix[1:].clone()


def sample_names_batched(
    P: torch.Tensor,
    itos: dict[int, str],
    num: int,
    g: torch.Generator,
    *,
    inverse_cdf: bool = False,
    max_len: int = 1000,
) -> list[str]:
    """并行采样 ``num`` 个名字（附录 A1）：所有名字同时前进，每一步只调用一次 ``torch.multinomial``。

    和 :func:`sample_names` 一样，每个名字从编号 0 出发，下一个字符从当前字符那一行 ``P[ix]``
    里抽，抽到 0 时结束；名字长到 ``max_len`` 个字符仍未结束时报 ``RuntimeError``。区别在于：
    每一步把所有还没结束的名字的当前行一起取出来，``P[ix]`` 的形状是 ``(仍在采样的名字数, V)``，
    一次调用就为每一行各抽一个字符。

    因为每个名字仍然按同一个 ``P`` 逐字符抽样，生成的名字与 :func:`sample_names` **分布相同**
    （首字母、长度、每个二元组的频率都一样）；但随机数的使用顺序不同，所以同一个种子
    给出的**具体名字不同**。同一个种子、同一个 torch 版本下，本函数自身的结果是确定的。
    返回的列表按名字编号排列，长度为 ``num``。

    ``inverse_cdf=True`` 时每一步改用逆变换采样（附录 A1 练习 1）：每个名字只取一个均匀随机数 ``u``，
    在当前行的累积概率里用 ``torch.searchsorted`` 找到第一个大于 ``u`` 的位置。分布不变，
    但每抽一个字符只需一个随机数（``multinomial`` 要 V 个），所以更快；具体名字又与前两种不同。
    """
    _check_sampling_args("sample_names_batched", P)
    if inverse_cdf:
        cdf = P.cumsum(1)
        cdf = cdf / cdf[:, -1:]  # 每行最后一个数恰好是 1.0：u < 1 总能找到位置
    alive = torch.arange(num)  # 还没结束的名字的编号
    ix = torch.zeros(num, dtype=torch.int64)  # 它们的当前字符，全部从 '.' 出发
    columns = []  # 第 t 步：(alive, ix)，即哪些名字在第 t 个位置抽到了哪个字符
    while alive.numel() > 0:
        if len(columns) >= max_len:  # 还有名字在第 max_len 个位置抽到了字母
            raise _name_too_long("sample_names_batched", max_len)
        # (仍在采样的名字数, V) -> 每行抽一个 -> (仍在采样的名字数,)
        if inverse_cdf:
            u = torch.rand(alive.numel(), 1, generator=g)
            ix = torch.searchsorted(cdf[ix], u, right=True).squeeze(1)  # 第一个累积概率 > u 的位置
        else:
            ix = torch.multinomial(P[ix], num_samples=1, replacement=True, generator=g).squeeze(1)
        keep = ix != 0  # 抽到 0 的名字到此结束
        alive, ix = alive[keep], ix[keep]
        columns.append((alive.tolist(), ix.tolist()))
    # 拼接字符串而不是给每个名字建一个字符列表：几万个小列表会触发 Python 的垃圾回收，耗时翻倍
    names = [""] * num
    for names_t, ix_t in columns:
        for n, i in zip(names_t, ix_t):
            names[n] += itos[i]
    return names


# ---------------------------------------------------------------------------
# 附录 A1 第 4 节：同一个梯度，由计数矩阵 N 算出
# ---------------------------------------------------------------------------

__all__ += ["count_loss"]


def count_loss(W: torch.Tensor, N: torch.Tensor) -> torch.Tensor:
    """由计数矩阵算出的平均负对数似然（附录 A1 第 4 节）：``-(N * log_softmax(W, 1)).sum() / N.sum()``。

    逐样本的损失对每个二元组 (i, j) 加一次 ``-log softmax(W)[i, j]``；同一个 (i, j) 出现
    ``N[i, j]`` 次，加的是同一个数。所以按 V×V 个格子求和、每格乘以出现次数，得到的是同一个损失
    （浮点舍入误差以内），梯度也相同，而每步只需 V×V 的计算，与样本数无关（附录 A1 推导它、
    核对它与 :func:`bigram_net_loss` 的梯度并比较速度）。``log_softmax`` 先减去每行最大值再取指数，不会溢出。
    ``W`` 与 ``N`` 形状都是 ``(V, V)``；返回标量张量，可以对它 ``backward()``。
    """
    if W.dim() != 2 or W.shape != N.shape:
        raise ValueError(f"count_loss: W 与 N 应是形状相同的二维张量，得到 {tuple(W.shape)} 和 {tuple(N.shape)}")
    if (N < 0).any():
        raise ValueError("count_loss: 计数不能为负")
    total = N.sum()
    if total == 0:
        raise ValueError("count_loss: N 全为零，没有数据可以算损失")
    N = N.to(W.dtype)
    return -(N * torch.log_softmax(W, dim=1)).sum() / total.to(W.dtype)


# ---------------------------------------------------------------------------
# 第 13 章：整名序列、AdamW 与 torch.nn（第三部分从这里开始）
# 数据流： words → build_sequences (X, Y：每个名字一行，长 max_len + 1，Y 里的 -1 是填充) → 模型
# forward(idx, targets) -> (logits, loss)（loss 由 sequence_loss 算出）→ train_model（AdamW、预热 + 余弦学习率、
# 梯度裁剪）；evaluate_model 在一个划分上评估。这些函数也接受第 9 章的上下文窗口数据（Y 没有 -1）。
# 放在附录 A1 之后，是因为它们是第三部分的代码；后面的章节直接导入。
# ---------------------------------------------------------------------------

__all__ += ["build_sequences", "sequence_loss", "evaluate_model", "warmup_cosine_lr", "train_model", "MLP"]


def build_sequences(words: list[str], stoi: dict[str, int], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """每个名字一条序列（第 13 章）：返回形状都是 ``(len(words), max_len + 1)`` 的 int64 张量 ``X``、``Y``。

    名字 ``w`` 的编号是 ``c1 … cL``：``X`` 的一行是 ``[0, c1, …, cL, 0, …]``（开头的 ``'.'`` 加上名字，
    后面补 0），``Y`` 的一行是 ``[c1, …, cL, 0, -1, …]``（名字加上结尾的 ``'.'``，后面补 -1）。
    第 t 个位置的任务是“读过 ``X[:t+1]`` 之后预测 ``Y[t]``”；``-1`` 的位置没有标签，损失用
    ``ignore_index=-1`` 跳过它们（:func:`sequence_loss`）。一个名字贡献 ``len(w) + 1`` 个标签，
    与第 9 章的 ``build_dataset`` 一样多。名字比 ``max_len`` 长、含字符表以外的字符或 ``'.'`` 时报错。
    """
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
        raise ValueError(f"build_sequences: max_len 应是正整数，得到 {max_len!r}")
    X = torch.zeros((len(words), max_len + 1), dtype=torch.int64)
    Y = torch.full((len(words), max_len + 1), -1, dtype=torch.int64)
    for i, w in enumerate(words):
        if len(w) > max_len:
            raise ValueError(f"build_sequences: 名字 {w!r} 有 {len(w)} 个字符，超过 max_len={max_len}")
        ix = []
        for ch in w:
            if ch not in stoi:
                raise ValueError(f"build_sequences: 字符 {ch!r}（在 {w!r} 中）不在字符表 stoi 里")
            if stoi[ch] == 0:
                raise ValueError(f"build_sequences: 名字 {w!r} 里有起止符 {ch!r}（编号 0）")
            ix.append(stoi[ch])
        X[i, 1 : len(ix) + 1] = torch.tensor(ix, dtype=torch.int64)
        Y[i, : len(ix)] = torch.tensor(ix, dtype=torch.int64)
        Y[i, len(ix)] = 0
    return X, Y


def sequence_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """序列（或上下文窗口）的平均交叉熵（第 13 章）：标签为 -1 的位置不计入，也不参与平均。

    ``logits`` 的形状是 ``targets.shape + (V,)``，例如 ``(B, T, V)`` 与 ``(B, T)``，或 ``(B, V)`` 与 ``(B,)``；
    两者摊平成 ``(-1, V)`` 和 ``(-1,)`` 之后交给 ``F.cross_entropy(..., ignore_index=-1)``。
    """
    if logits.dim() != targets.dim() + 1 or logits.shape[:-1] != targets.shape:
        raise ValueError(
            "sequence_loss: logits 的形状应是 targets 的形状再加一维 V，"
            f"得到 {tuple(logits.shape)} 和 {tuple(targets.shape)}"
        )
    flat = logits.reshape(-1, logits.shape[-1])
    return torch.nn.functional.cross_entropy(flat, targets.reshape(-1), ignore_index=-1)


def evaluate_model(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor, batch_size: int = 4096) -> float:
    """模型在一个划分上每个字符的平均负对数似然（第 13 章），即成绩表的指标。

    ``model(X, Y)`` 遵守 ``forward(idx, targets) -> (logits, loss)`` 的约定，``loss`` 是这一批里
    所有标签（不含 -1）的平均。按 ``batch_size`` 行一批计算，再按每批的标签个数加权平均，所以分批与否
    只差浮点舍入。计算时切到推理模式（``model.eval()``）、不记录梯度，结束后恢复模型原来的模式。
    """
    if len(X) != len(Y):
        raise ValueError(f"evaluate_model: X 与 Y 的行数不同：{len(X)} 和 {len(Y)}")
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        with torch.no_grad():
            for i in range(0, len(X), batch_size):
                Yb = Y[i : i + batch_size]
                n = int((Yb != -1).sum())
                if n:
                    _, loss = model(X[i : i + batch_size], Yb)
                    total += loss.item() * n
                    count += n
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluate_model: Y 里没有标签（全是 -1）")
    return total / count


def warmup_cosine_lr(step: int, *, steps: int, lr_max: float, warmup: int, lr_min: float = 0.0) -> float:
    """第 ``step`` 步（从 0 数）的学习率（第 13 章）：先线性预热，再沿余弦曲线降到 ``lr_min``。

    预热阶段（``step < warmup``）是 ``lr_max * (step + 1) / warmup``；之后从 ``lr_max`` 开始，
    在第 ``steps - 1`` 步之后到达 ``lr_min``。``warmup=0`` 表示不预热。
    """
    import math

    if not 0 <= warmup < steps:
        raise ValueError(f"warmup_cosine_lr: 应有 0 <= warmup < steps，得到 warmup={warmup}, steps={steps}")
    if step < warmup:
        return lr_max * (step + 1) / warmup
    progress = (step - warmup) / (steps - warmup)
    return lr_min + 0.5 * (lr_max - lr_min) * (1.0 + math.cos(math.pi * progress))


def train_model(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    X: torch.Tensor,
    Y: torch.Tensor,
    *,
    steps: int,
    batch_size: int,
    lr,
    g: torch.Generator,
    clip: float | None = 1.0,
) -> tuple[list[float], float]:
    """第 13 章的训练循环：返回每一步小批量上的损失 ``lossi`` 和训练用的秒数。

    每一步：用 ``g`` 从 ``X`` 随机取 ``batch_size`` 行，``_, loss = model(X[ix], Y[ix])``；把这一步的
    学习率（``lr`` 是一个数，或“步数 → 学习率”的函数，例如 :func:`warmup_cosine_lr`）写进优化器的每个
    参数组；清零梯度、反向传播；``clip`` 不是 ``None`` 时把全部梯度的总范数裁剪到 ``clip``
    （``torch.nn.utils.clip_grad_norm_``）；``optimizer.step()``。训练时模型处于训练模式，
    结束后（出错时也一样）切到推理模式，之后的评估与采样用的是 BatchNorm 的运行统计量。
    损失不是有限数时报错（通常是学习率太大）。``optimizer`` 可以是 ``AdamW``，也可以是 ``SGD``。
    """
    import time

    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"train_model: steps 应是正整数，得到 {steps!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"train_model: batch_size 应是正整数，得到 {batch_size!r}")
    if len(X) != len(Y):
        raise ValueError(f"train_model: X 与 Y 的行数不同：{len(X)} 和 {len(Y)}")
    lossi: list[float] = []
    model.train()
    t0 = time.perf_counter()
    try:
        for i in range(steps):
            ix = torch.randint(0, X.shape[0], (batch_size,), generator=g)
            _, loss = model(X[ix], Y[ix])
            if not torch.isfinite(loss):
                raise FloatingPointError(f"train_model: 第 {i} 步的损失是 {loss.item()}：学习率太大？")
            for group in optimizer.param_groups:
                group["lr"] = lr(i) if callable(lr) else lr
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            lossi.append(loss.item())
    finally:
        model.eval()
    return lossi, time.perf_counter() - t0


class MLP(torch.nn.Module):
    """第 9 章的 MLP 写成 ``nn.Module``（第 13 章）：``forward(idx, targets=None) -> (logits, loss)``，
    ``idx`` 的形状是 ``(..., block_size)``（上下文窗口），``logits`` 是 ``(..., 27)``。

    嵌入 ``C``（27 × ``n_embd``）→ 拼接 → ``l1``（``block_size·n_embd → n_hidden``）→ tanh → ``l2``（→ 27）。
    初始化与第 9 章的 ``make_mlp`` 相同（同样的 ``torch.randn`` 抽取顺序，输出层乘以 0.01），
    所以同一个 ``g`` 给出同样的起点。第 14 章用它作固定窗口的对照。
    """

    def __init__(self, n_embd: int, n_hidden: int, g: torch.Generator, block_size: int = 3):
        super().__init__()
        self.C = torch.nn.Embedding(27, n_embd)
        self.l1 = torch.nn.Linear(block_size * n_embd, n_hidden)
        self.l2 = torch.nn.Linear(n_hidden, 27)
        with torch.no_grad():
            self.C.weight.copy_(torch.randn((27, n_embd), generator=g))
            self.l1.weight.copy_(torch.randn((block_size * n_embd, n_hidden), generator=g).T)
            self.l1.bias.copy_(torch.randn(n_hidden, generator=g))
            self.l2.weight.copy_(torch.randn((n_hidden, 27), generator=g).T * 0.01)
            self.l2.bias.copy_(torch.randn(27, generator=g) * 0.01)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        h = torch.tanh(self.l1(self.C(idx).flatten(-2)))     # (..., block_size) -> (..., n_hidden)
        logits = self.l2(h)                                  # (..., 27)
        return logits, (None if targets is None else sequence_loss(logits, targets))


# ---------------------------------------------------------------------------
# 第 14 章：循环神经网络（RNN）
# 数据流：第 13 章的整名序列 X → Embedding → 每一步同一个单元 cell(x_t, h_{t-1}) -> h_t（起始状态 h0 是学出来的）
# → 输出层 → logits。单元可以换成第 15 章的 GRU：RecurrentLM 不关心单元内部。
# ---------------------------------------------------------------------------

__all__ += ["RNNCell", "RecurrentLM", "hidden_grad_norms"]


def _uniform_init(module: torch.nn.Module, bound: float, g: torch.Generator) -> None:
    """把 ``module`` 的每个参数重新取成 U(-bound, bound)（``torch.nn.RNN``/``GRU`` 的默认初始化用
    ``bound = 1/√hidden_size``），随机数全部来自 ``g``，按 ``named_parameters()`` 的顺序抽取。"""
    with torch.no_grad():
        for _, p in module.named_parameters():
            p.copy_(torch.rand(p.shape, generator=g) * 2 * bound - bound)


class RNNCell(torch.nn.Module):
    """最简单的循环单元（第 14 章）：``h_t = tanh(x_t W_xh + h_{t-1} W_hh + b)``。

    ``forward(x, h)``：``x`` 形状 ``(B, n_in)``，``h`` 形状 ``(B, n_hidden)``，返回新的 ``h``（同形状）。
    权重按行向量写法存放（``W_xh`` 是 ``(n_in, n_hidden)``，与 ``torch.nn.RNN`` 的 ``weight_ih_l0`` 互为转置）。
    """

    def __init__(self, n_in: int, n_hidden: int, g: torch.Generator):
        super().__init__()
        self.W_xh = torch.nn.Parameter(torch.empty(n_in, n_hidden))
        self.W_hh = torch.nn.Parameter(torch.empty(n_hidden, n_hidden))
        self.b = torch.nn.Parameter(torch.empty(n_hidden))
        _uniform_init(self, 1.0 / math.sqrt(n_hidden), g)   # 与 torch.nn.RNN 的默认范围相同

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x @ self.W_xh + h @ self.W_hh + self.b)


class RecurrentLM(torch.nn.Module):
    """循环语言模型（第 14 章）：嵌入 → 循环单元（每一步同样的权重）→ 输出层，遵守第 13 章的约定
    ``forward(idx, targets=None) -> (logits, loss)``。

    ``cell`` 是任何 ``cell(x, h) -> h`` 的模块，输入维度 ``n_embd``、状态维度 ``n_hidden``（第 14 章的
    :class:`RNNCell`，第 15 章的 GRU 单元）。起始状态 ``h0`` 是一个可学习的参数（所有序列共用）。
    """

    def __init__(self, vocab_size: int, n_embd: int, n_hidden: int, cell: torch.nn.Module, g: torch.Generator):
        super().__init__()
        self.wte = torch.nn.Embedding(vocab_size, n_embd)
        self.cell = cell
        self.h0 = torch.nn.Parameter(torch.zeros(1, n_hidden))
        self.lm_head = torch.nn.Linear(n_hidden, vocab_size)
        with torch.no_grad():
            self.wte.weight.copy_(torch.randn((vocab_size, n_embd), generator=g))
            bound = 1.0 / math.sqrt(n_hidden)
            self.lm_head.weight.copy_(torch.rand((vocab_size, n_hidden), generator=g) * 2 * bound - bound)
            self.lm_head.bias.zero_()

    def hidden_states(self, idx: torch.Tensor) -> list[torch.Tensor]:
        """每一步的隐状态 ``[h_1, …, h_T]``，每个形状 ``(B, n_hidden)``（``h_t`` 读过了 ``idx[:, :t]``）。"""
        emb = self.wte(idx)                                   # (B, T) -> (B, T, n_embd)
        h = self.h0.expand(idx.shape[0], -1)
        hs = []
        for t in range(idx.shape[1]):
            h = self.cell(emb[:, t], h)
            hs.append(h)
        return hs

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        logits = self.lm_head(torch.stack(self.hidden_states(idx), dim=1))   # (B, T, vocab_size)
        loss = None if targets is None else sequence_loss(logits, targets)
        return logits, loss


def hidden_grad_norms(model: RecurrentLM, idx: torch.Tensor, targets: torch.Tensor, t_loss: int) -> torch.Tensor:
    """梯度随时间怎样传回去（第 14 章，第 15 章用同一张图比较 GRU）：只取位置 ``t_loss`` 的损失，
    返回形状 ``(t_loss + 1,)`` 的张量：第 t 个数是 ``‖∂L/∂h_{t+1}‖`` 在这一批上的平均
    （``h_{t+1}`` 读过了前 t+1 个字符）。

    ``targets[:, t_loss]`` 里不能有 -1（只用在这个位置还有标签的序列）。不改动参数的梯度之外的任何东西；
    结束后把参数的 ``.grad`` 清掉。
    """
    if not 0 <= t_loss < idx.shape[1]:
        raise ValueError(f"hidden_grad_norms: t_loss 应在 0 与 {idx.shape[1] - 1} 之间，得到 {t_loss}")
    if (targets[:, t_loss] == -1).any():
        raise ValueError("hidden_grad_norms: 位置 t_loss 上有填充（-1）；只传在这个位置还有标签的序列")
    hs = model.hidden_states(idx[:, : t_loss + 1])
    for h in hs:
        h.retain_grad()
    logits = model.lm_head(hs[-1])
    loss = torch.nn.functional.cross_entropy(logits, targets[:, t_loss])
    loss.backward()
    norms = torch.stack([h.grad.norm(dim=1).mean() for h in hs]).detach()
    model.zero_grad(set_to_none=True)
    return norms


# ---------------------------------------------------------------------------
# 第 15 章：门控循环单元（GRU）
# 数据流：与第 14 章相同（RecurrentLM 不变），只把单元换成 GRUCell：重置门 r、更新门 z、候选状态 n，
# 新的隐状态是旧状态与候选状态按 z 的逐元素插值。
# ---------------------------------------------------------------------------

__all__ += ["GRUCell"]


class GRUCell(torch.nn.Module):
    """门控循环单元（第 15 章），采用 ``torch.nn.GRU`` 的约定::

        r = σ(x W_ir + b_ir + h W_hr + b_hr)            重置门
        z = σ(x W_iz + b_iz + h W_hz + b_hz)            更新门
        n = tanh(x W_in + b_in + r * (h W_hn + b_hn))   候选状态（重置门乘在矩阵乘积之后；* 是逐元素乘）
        h' = (1 - z) * n + z * h                        z 是“保留旧状态”的比例

    ``forward(x, h)``：``x`` 形状 ``(B, n_in)``，``h`` 形状 ``(B, n_hidden)``，返回新的 ``h``（同形状），
    与第 14 章的 :class:`RNNCell` 是同一个约定。权重按行向量写法存放：``W_ih`` 是 ``(n_in, 3·n_hidden)``，
    ``W_hh`` 是 ``(n_hidden, 3·n_hidden)``，三段依次是 r、z、n，与 ``torch.nn.GRU`` 的 ``weight_ih_l0``、
    ``weight_hh_l0`` 互为转置（偏置 ``b_ih``、``b_hh`` 相同）。初始化与 ``torch.nn.GRU`` 的默认范围相同：
    每个参数取 U(-1/√n_hidden, 1/√n_hidden)，随机数来自 ``g``。
    """

    def __init__(self, n_in: int, n_hidden: int, g: torch.Generator):
        super().__init__()
        self.n_hidden = n_hidden
        self.W_ih = torch.nn.Parameter(torch.empty(n_in, 3 * n_hidden))
        self.W_hh = torch.nn.Parameter(torch.empty(n_hidden, 3 * n_hidden))
        self.b_ih = torch.nn.Parameter(torch.empty(3 * n_hidden))
        self.b_hh = torch.nn.Parameter(torch.empty(3 * n_hidden))
        _uniform_init(self, 1.0 / math.sqrt(n_hidden), g)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        xr, xz, xn = (x @ self.W_ih + self.b_ih).chunk(3, dim=1)   # 各 (B, n_hidden)
        hr, hz, hn = (h @ self.W_hh + self.b_hh).chunk(3, dim=1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        return (1 - z) * n + z * h


# ---------------------------------------------------------------------------
# 第 16 章：自注意力
# 数据流：(B, T, n_embd) → 每个头的查询 q、键 k、值 v → 因果掩码下的 softmax(q·k / √head_size) → 加权平均 v
# → 各头拼接 → 输出投影 → (B, T, n_embd)。
# ---------------------------------------------------------------------------

__all__ += ["CausalSelfAttention"]


class CausalSelfAttention(torch.nn.Module):
    """多头因果自注意力（第 16 章）：位置 t 只看位置 0…t。``forward(x)``：``(B, T, n_embd)`` → 同形状。
    ``forward(x, mask)`` 用给定的布尔掩码（``True`` = 可以看；形状能广播到 ``(B, n_head, T, T)``）代替因果掩码，
    第 17 章打包训练时用它（:func:`name_segments`）。

    ``n_head`` 个头，每个头 ``head_size = n_embd // n_head`` 维；分数除以 ``√head_size``。最近一次调用的
    注意力权重（形状 ``(B, n_head, T, T)``，已经过 dropout 之前的 softmax）留在 ``self.att`` 里，供画图用。
    """

    def __init__(self, n_embd: int, n_head: int, block_size: int, dropout: float = 0.0):
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"CausalSelfAttention: n_embd={n_embd} 不能被 n_head={n_head} 整除")
        self.n_head = n_head
        self.qkv = torch.nn.Linear(n_embd, 3 * n_embd)
        self.proj = torch.nn.Linear(n_embd, n_embd)
        self.dropout = torch.nn.Dropout(dropout)
        self.register_buffer("mask", torch.tril(torch.ones(block_size, block_size, dtype=torch.bool)))
        self.att: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)                               # 各 (B, T, C)
        q, k, v = (z.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for z in (q, k, v))  # (B, nh, T, hs)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(k.shape[-1])            # (B, nh, T, T)
        if mask is None:
            mask = self.mask[:T, :T]                                        # 因果掩码
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        self.att = att.detach()
        y = self.dropout(att) @ v                                           # (B, nh, T, hs)
        return self.dropout(self.proj(y.transpose(1, 2).reshape(B, T, C)))


# ---------------------------------------------------------------------------
# 第 17 章：Transformer（字符级 GPT）
# 数据流：idx → 字符嵌入 + 位置嵌入 → n_layer 个 Block（x + 注意力(LN(x))；x + MLP(LN(x))）→ LayerNorm → 输出层。
# ---------------------------------------------------------------------------

__all__ += ["Block", "name_segments", "Transformer", "pack_sequences"]


class Block(torch.nn.Module):
    """Transformer 块（第 17 章，pre-LayerNorm）：``x = x + attn(ln1(x))``，``x = x + mlp(ln2(x))``，
    MLP 是 ``n_embd → 4·n_embd → GELU → n_embd``。"""

    def __init__(self, n_embd: int, n_head: int, block_size: int, dropout: float = 0.0):
        super().__init__()
        self.ln1 = torch.nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, block_size, dropout)
        self.ln2 = torch.nn.LayerNorm(n_embd)
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(n_embd, 4 * n_embd), torch.nn.GELU(), torch.nn.Linear(4 * n_embd, n_embd),
            torch.nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), mask)
        return x + self.mlp(self.ln2(x))


def name_segments(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """一行里打包了几个名字时，每个位置在自己名字里的位置号和注意力掩码（第 17 章）。

    每个 ``'.'``（编号 0）开始一个新名字。返回 ``pos``（形状同 ``idx``：位置 t 离它所在名字开头的距离）和
    ``mask``（``(B, 1, T, T)``，``mask[b, 0, t, s]`` 为真当且仅当 s ≤ t 且 s、t 在同一个名字里）。
    只有一个名字的行（后面补的 0 各自成段、没有标签）得到的正是普通的位置号和因果掩码。
    """
    B, T = idx.shape
    t = torch.arange(T, device=idx.device).expand(B, T)
    starts = idx == 0
    seg = starts.cumsum(dim=1)                                    # 第几个名字
    pos = t - torch.where(starts, t, 0).cummax(dim=1).values      # 离最近一个 '.' 的距离
    causal = torch.ones(T, T, dtype=torch.bool, device=idx.device).tril()
    mask = (seg[:, :, None] == seg[:, None, :]) & causal
    return pos, mask.unsqueeze(1)


class Transformer(torch.nn.Module):
    """字符级 GPT（第 17 章）：``forward(idx, targets=None) -> (logits, loss)``，``idx`` 最长 ``block_size``。

    初始化（全部随机数来自 ``g``）：线性层与嵌入的权重 N(0, 0.02²)，偏置 0，LayerNorm 为 1 和 0；
    每个残差分支最后的投影再乘 ``1/√(2·n_layer)``，让残差流的方差不随层数增长。
    ``packed=True`` 时一行可以装几个名字（:func:`pack_sequences`）：位置号和注意力掩码由
    :func:`name_segments` 按名字分段，一行可以比 ``block_size`` 长，只要每个名字（连同开头的 ``'.'``）不超过它；
    对只有一个名字的行，结果与 ``packed=False`` 相同。
    """

    def __init__(self, vocab_size: int, block_size: int, n_embd: int, n_head: int, n_layer: int,
                 g: torch.Generator, dropout: float = 0.0, packed: bool = False):
        super().__init__()
        self.block_size = block_size
        self.packed = packed
        self.wte = torch.nn.Embedding(vocab_size, n_embd)
        self.wpe = torch.nn.Embedding(block_size, n_embd)
        self.drop = torch.nn.Dropout(dropout)
        self.blocks = torch.nn.ModuleList(Block(n_embd, n_head, block_size, dropout) for _ in range(n_layer))
        self.ln_f = torch.nn.LayerNorm(n_embd)
        self.lm_head = torch.nn.Linear(n_embd, vocab_size)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("bias") or ".ln" in name or name.startswith("ln_f"):
                    continue  # 偏置已是 0（下面清零），LayerNorm 的 1 和 0 保持不变
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith(("attn.proj.weight", "mlp.2.weight")) else 0.02
                p.copy_(torch.randn(p.shape, generator=g) * std)
            for name, p in self.named_parameters():
                if name.endswith("bias") and ".ln" not in name and not name.startswith("ln_f"):
                    p.zero_()

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        B, T = idx.shape
        if self.packed:
            pos, mask = name_segments(idx)
            if T and pos.max() >= self.block_size:
                raise ValueError(f"Transformer: 有一个名字长 {int(pos.max()) + 1}，超过 block_size={self.block_size}")
        else:
            if T > self.block_size:
                raise ValueError(f"Transformer: 序列长 {T}，超过 block_size={self.block_size}")
            pos, mask = torch.arange(T, device=idx.device), None
        x = self.drop(self.wte(idx) + self.wpe(pos))                                    # (B, T, n_embd)
        for block in self.blocks:
            x = block(x, mask)
        logits = self.lm_head(self.ln_f(x))                                             # (B, T, vocab_size)
        loss = None if targets is None else sequence_loss(logits, targets)
        return logits, loss


def pack_sequences(
    X: torch.Tensor, Y: torch.Tensor, row_len: int, g: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """把 :func:`build_sequences` 的一名一行装成每行 ``row_len`` 个位置、一行几个名字（第 17 章）。

    名字的顺序由 ``g`` 打乱（``torch.randperm``），再依次装入：放得下就接在当前行后面，放不下就开新的一行。
    一个名字占 ``len + 1`` 个位置（``X`` 里是 ``'.'`` 加名字，``Y`` 里是名字加 ``'.'``），行尾不足的部分
    ``X`` 补 0、``Y`` 补 -1。每个标签原样保留，一个也不多、不少；配合 ``Transformer(..., packed=True)``。
    """
    lengths = (Y != -1).sum(dim=1).tolist()
    if max(lengths) > row_len:
        raise ValueError(f"pack_sequences: 最长的名字占 {max(lengths)} 个位置，超过 row_len={row_len}")
    rows: list[list[int]] = [[]]
    used = 0
    for i in torch.randperm(len(X), generator=g).tolist():
        if used + lengths[i] > row_len:
            rows.append([])
            used = 0
        rows[-1].append(i)
        used += lengths[i]
    Xp = torch.zeros((len(rows), row_len), dtype=X.dtype)
    Yp = torch.full((len(rows), row_len), -1, dtype=Y.dtype)
    for r, members in enumerate(rows):
        t = 0
        for i in members:
            n = lengths[i]
            Xp[r, t : t + n], Yp[r, t : t + n] = X[i, :n], Y[i, :n]
            t += n
    return Xp, Yp


# ---------------------------------------------------------------------------
# 第 17 章（续）：从 forward(idx) 模型采样，温度与 top-k
# 放在冻结的第 17 章接口之后：它只用 forward(idx) -> (logits, loss) 的约定，对 RecurrentLM 和 Transformer 都适用。
# ---------------------------------------------------------------------------

__all__ += ["generate_names"]


def generate_names(
    model: torch.nn.Module,
    itos: dict[int, str],
    num: int,
    g: torch.Generator,
    *,
    max_len: int,
    temperature: float = 1.0,
    top_k: int | None = None,
) -> list[str]:
    """从遵守 ``forward(idx) -> (logits, loss)`` 约定的序列模型同时采样 ``num`` 个名字（第 17 章）。

    所有序列从 ``'.'``（编号 0）出发，每一步把整个前缀 ``idx``（形状 ``(num, t)``）交给模型，取最后一个位置的
    logits 除以 ``temperature``；``top_k`` 不是 ``None`` 时只保留每行最大的 ``top_k`` 个 logits（其余设为
    ``-inf``），softmax 之后用 ``torch.multinomial``（生成器 ``g``）为每条序列抽一个字符。每条序列都抽到过
    ``'.'`` 时停止，最多抽 ``max_len + 1`` 次；名字是第一个 ``'.'`` 之前的字符，最多 ``max_len`` 个。
    采样期间模型处于推理模式（dropout 关闭）、不记录梯度，结束后恢复原来的模式。
    """
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise ValueError(f"generate_names: num 应是正整数，得到 {num!r}")
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
        raise ValueError(f"generate_names: max_len 应是正整数，得到 {max_len!r}")
    if not temperature > 0:
        raise ValueError(f"generate_names: temperature 应大于 0，得到 {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"generate_names: top_k 应是正整数或 None，得到 {top_k!r}")
    was_training = model.training
    model.eval()
    idx = torch.zeros((num, 1), dtype=torch.int64)
    try:
        with torch.no_grad():
            for _ in range(max_len + 1):
                logits, _ = model(idx)                                  # (num, t, V)
                logits = logits[:, -1, :] / temperature
                if top_k is not None:
                    kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[:, [-1]]
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                ix = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=g)   # (num, 1)
                idx = torch.cat([idx, ix], dim=1)
                if (idx[:, 1:] == 0).any(dim=1).all():
                    break
    finally:
        model.train(was_training)
    rows = [row[: row.index(0)] if 0 in row else row[:max_len] for row in idx[:, 1:].tolist()]
    return ["".join(itos[i] for i in row) for row in rows]


# ---------------------------------------------------------------------------
# 第 18 章：七言绝句（中文数据）
# 数据流： poems.txt（每行一首：7，7。7，7。共 32 个字符）→ load_poems → split_words（第 6 章，按诗划分）
# → 字表 → 第 13 章的整序列 (X, Y) → 第 17 章的 Transformer。
# ---------------------------------------------------------------------------

__all__ += ["POEMS_URLS", "POEMS_SHA256", "default_poems_path", "poems_file", "load_poems"]

#: poems.txt 的下载地址（按顺序尝试）与校验和（见 data/README.md）。这个文件随本书的仓库提交，
#: 所以地址是本仓库的 GitHub 原始文件和它在 jsDelivr 上的镜像；在仓库里运行时直接读本地文件，不联网。
POEMS_URLS = (
    "https://raw.githubusercontent.com/makemore-zh/makemore-zh/main/data/poems.txt",
    "https://cdn.jsdelivr.net/gh/makemore-zh/makemore-zh@main/data/poems.txt",
)
POEMS_SHA256 = "70dc679a214c02ef3e24b0f20a60826959a4a4e075bd131b67db266ca3fe9f2a"
POEMS_ENV_PATH = "MM_POEMS_PATH"
POEMS_ENV_URL = "MM_POEMS_URL"


def default_poems_path() -> Path:
    """诗的数据文件的默认位置（第 18 章）：``$MM_POEMS_PATH``，否则是 names.txt 所在的文件夹里的 ``poems.txt``
    （在仓库里是 ``data/poems.txt``；在 Colab 里，引导单元把 names.txt 放在笔记本旁边，诗也就在那里）。"""
    env = os.environ.get(POEMS_ENV_PATH)
    if env:
        return Path(env).expanduser()
    return default_names_path().parent / "poems.txt"


def poems_file(
    path: str | os.PathLike | None = None,
    *,
    urls: str | Sequence[str] | None = None,
    sha256: str = POEMS_SHA256,
    timeout: float = 15.0,
) -> Path:
    """返回 poems.txt 的路径，保证它存在（第 18 章；与第 1 章的 :func:`names_file` 做法相同）。

    文件不存在时依次尝试 ``urls``（缺省为 ``$MM_POEMS_URL``，再缺省为 :data:`POEMS_URLS`），
    第一个通过 sha256 校验的内容先写入临时文件再原子地改名；全部失败时报错，列出每个地址和原因。
    """
    p = Path(path) if path is not None else default_poems_path()
    if p.exists():
        return p
    urls = urls or os.environ.get(POEMS_ENV_URL) or POEMS_URLS
    if isinstance(urls, str):
        urls = [u.strip() for u in urls.split(",") if u.strip()]
    _download(list(urls), p, sha256, timeout,
              fix=f"\n请联网后重试；或用浏览器手动下载\n  {POEMS_URLS[0]}\n保存为 {p}"
                  f"（也可以设置环境变量 {POEMS_ENV_PATH} 指向已有的 poems.txt，"
                  f"或用 {POEMS_ENV_URL} 指定别的镜像，多个用逗号分隔）。")
    return p


def _is_jueju(line: str) -> bool:
    """``line`` 是不是 ``7，7。7，7。`` 的形式（每句 7 个 CJK 统一汉字 U+4E00–U+9FFF）。"""
    if len(line) != 32:
        return False
    for i, ch in enumerate(line):
        want = "，" if i % 16 == 7 else "。" if i % 16 == 15 else None
        if (ch != want) if want else not "\u4e00" <= ch <= "\u9fff":
            return False
    return True


def load_poems(
    path: str | os.PathLike | None = None,
    *,
    urls: str | Sequence[str] | None = None,
    sha256: str = POEMS_SHA256,
    timeout: float = 15.0,
) -> list[str]:
    """读取 poems.txt，返回诗的列表，每首是一个 32 个字符的字符串 ``7，7。7，7。``（第 18 章）。

    文件的位置与下载见 :func:`poems_file`。容忍 Windows 换行和文件末尾的空行；拒绝空文件，
    以及不是这种形式的行（错误消息写明行号）。
    """
    p = poems_file(path, urls=urls, sha256=sha256, timeout=timeout)
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"{p} 不是 UTF-8 文本（第 {e.start} 字节）。请删除它后重新下载：\n  {POEMS_URLS[0]}") from None
    poems = text.splitlines()
    while poems and poems[-1].strip() == "":
        poems.pop()
    if not poems:
        raise DataError(f"{p} 是空的。删除它后重新运行会自动下载，或手动下载：\n  {POEMS_URLS[0]}")
    for lineno, line in enumerate(poems, start=1):
        if not _is_jueju(line):
            raise DataError(
                f"{p} 第 {lineno} 行是 {line!r}：每行必须是一首七言绝句，形如“7 字，7 字。7 字，7 字。”。\n"
                f"请修正这一行，或删除文件后重新下载：\n  {POEMS_URLS[0]}"
            )
    return poems
