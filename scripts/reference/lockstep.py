#!/usr/bin/env python3
"""Lock-step check: PyTorch and the Swift trainer on the same batches from the same start.

`finetune_pytorch.py` compares the two frameworks as users run them, each with its
own random draws, so they agree only up to seed-to-seed variation. This script
removes the draws that can be shared:

1. `start` writes a start directory: the pretrained model with a new head drawn by
   torch (so both sides begin from the same weights), optionally with every
   dropout set to 0, and prints the `bert finetune` command that trains it with
   the task's settings.
2. `train` fine-tunes that directory with PyTorch, taking the batches in the Swift
   trainer's order (its seeded shuffle and length bucketing, reproduced below), and
   writes one JSON line per update, as the Swift `training_log.jsonl`.
3. `compare` sets the two logs side by side.

With dropout off, both sides then compute the same function on the same batches,
and the losses and gradient norms must agree to float32 rounding for many steps.
With dropout on, only the masks differ, unless `train --swift-dropout` rebuilds
the Swift trainer's masks (they depend only on the seed, the epoch, the batch,
the order of the dropout sites and the element index) and applies them in
torch: then the runs must agree with dropout on as well.

The start directory can also hold Swift's own initial weights: `bert finetune
... --max-steps 1` with a warm-up ratio above 0 saves them unchanged, since the
first update's rate is 0.

    python3 scripts/reference/lockstep.py start reference-data/pair-classification START [--no-dropout]
    bert finetune --model START ...             # the command `start` prints
    python3 scripts/reference/lockstep.py train reference-data/pair-classification START --output torch.jsonl
    python3 scripts/reference/lockstep.py compare OUT/training_log.jsonl torch.jsonl
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import finetune_pytorch as reference  # noqa: E402

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


# ---------------------------------------------------------------------------
# The Swift trainer's batch order (Trainer.batchOrder, SeededGenerator, mix)


def mix(*values: int) -> int:
    """The Swift `mix(_:)`: a SplitMix64 finaliser over the values in turn."""
    z = GOLDEN
    for value in values:
        z = ((z ^ value) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        z ^= z >> 31
    return z


class SeededGenerator:
    """xoshiro256** seeded through SplitMix64, as the Swift `SeededGenerator`."""

    def __init__(self, seed: int):
        self.state = []
        state = seed
        for _ in range(4):
            state = (state + GOLDEN) & MASK64
            z = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
            self.state.append(z ^ (z >> 31))

    @staticmethod
    def _rotate(x: int, k: int) -> int:
        return ((x << k) | (x >> (64 - k))) & MASK64

    def next(self) -> int:
        s = self.state
        result = (self._rotate((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotate(s[3], 45)
        return result

    def shuffle(self, values: list) -> None:
        """The Swift Fisher–Yates shuffle (the interface of `random.Random.shuffle`)."""
        for i in range(len(values) - 1, 0, -1):
            j = self.next() % (i + 1)
            values[i], values[j] = values[j], values[i]


def swift_batch_order(lengths: list[int], batch_size: int, seed: int, epoch: int,
                      bucketing: bool) -> list[list[int]]:
    """The batches of 0-based `epoch`, as `Trainer.batchOrder` cuts them: the
    reference script's batching, with the Swift generator's shuffle."""
    generator = SeededGenerator(mix(seed, 0xE90C, epoch))
    return reference.batch_order(lengths, batch_size, bucketing, generator)


# ---------------------------------------------------------------------------
# The Swift dropout masks (Dropout.swift: DropoutBits; Trainer: one generator per batch)


def swift_keep_mask(key: int, count: int, probability: float):
    """Element e is kept when its 32 bits of SplitMix64 output number e // 2 of
    the stream `key` (low half for even e, high half for odd e) reach the
    threshold round(p · 2³²), with p as a Float32."""
    import numpy as np
    threshold = round(float(np.float32(probability)) * 4294967296.0)
    with np.errstate(over="ignore"):
        index = np.arange((count + 1) // 2, dtype=np.uint64)
        z = np.uint64(key) + (index + np.uint64(1)) * np.uint64(GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    bits = np.empty(2 * len(index), dtype=np.uint64)
    bits[0::2] = z & np.uint64(0xFFFFFFFF)
    bits[1::2] = z >> np.uint64(32)
    return bits[:count] >= np.uint64(threshold)


class SwiftDropout:
    """Replaces torch's dropout by the Swift trainer's masks while active.

    Every dropout call in training mode draws the next key from a generator
    seeded with mix(seed, epoch, batch), in forward order: the embeddings, then
    per layer the attention probabilities, the attention output and the
    feed-forward output, then the classifier's. With eager attention, torch's
    calls come in the same order, on tensors of the same layout."""

    def __init__(self, torch):
        self.torch = torch
        self.original = torch.nn.functional.dropout
        self.generator = None

    def begin(self, seed: int, epoch: int, batch: int) -> None:
        self.generator = SeededGenerator(mix(seed, epoch, batch))

    def __call__(self, input, p=0.5, training=True, inplace=False):
        if not training or p == 0 or self.generator is None:
            return self.original(input, p, training, inplace)
        import numpy as np
        keep = swift_keep_mask(self.generator.next(), input.numel(), p)
        scale = float(np.float32(1) / (np.float32(1) - np.float32(p)))
        mask = self.torch.from_numpy(keep).view(input.shape).to(input.dtype)
        return input * mask * scale

    def __enter__(self):
        self.torch.nn.functional.dropout = self
        return self

    def __exit__(self, *exc):
        self.torch.nn.functional.dropout = self.original


# ---------------------------------------------------------------------------
# Commands


def load_task(folder: Path, model_dir: Path):
    from transformers import AutoTokenizer
    settings = reference.read_settings(folder)
    kind = reference.task_kind(folder, settings)
    settings.setdefault("max_length", 384 if kind == "qa" else 128)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    return kind, settings, reference.build_task(kind, folder, tokenizer, settings, None, None)


def start(args) -> None:
    import torch
    kind, settings, task = load_task(args.folder, args.model)
    torch.manual_seed(int(settings["seed"]))
    model = task.model_class().from_pretrained(str(args.model), **task.model_kwargs())
    if args.no_dropout:
        model.config.hidden_dropout_prob = 0.0
        model.config.attention_probs_dropout_prob = 0.0
    args.start.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(args.start))
    for name in ("vocab.txt", "tokenizer_config.json"):
        shutil.copy(args.model / name, args.start / name)
    files = ("train.json", "eval.json") if kind == "qa" else ("train.jsonl", "eval.jsonl")
    command = [
        "bert finetune", f"--model {args.start}", f"--task {kind}",
        f"--train {args.folder / files[0]}", f"--dev {args.folder / files[1]}",
        "--output OUT", f"--epochs {settings['epochs']}", f"--batch-size {settings['batch_size']}",
        f"--learning-rate {settings['learning_rate']}", f"--warmup-ratio {settings['warmup_ratio']}",
        f"--weight-decay {settings['weight_decay']}", f"--max-grad-norm {settings['max_grad_norm']}",
        f"--gradient-accumulation {settings['gradient_accumulation']}",
        f"--max-length {settings['max_length']}", f"--seed {settings['seed']}",
    ]
    if kind == "qa":
        command += [f"--doc-stride {settings['doc_stride']}",
                    f"--max-answer-length {settings.get('max_answer_length', 30)}"]
    if args.max_steps:
        command.append(f"--max-steps {args.max_steps}")
    if settings.get("length_bucketing"):
        command.append("--length-bucketing")
    if settings.get("label_all_tokens"):
        command.append("--label-all-tokens")
    print(f"wrote {args.start}; train the Swift side with:\n" + " \\\n    ".join(command))


def train(args) -> None:
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.dropout_seed)
    kind, settings, task = load_task(args.folder, args.start)
    # Eager attention calls torch.nn.functional.dropout on the probabilities,
    # which SwiftDropout can replace; SDPA draws its mask inside the kernel.
    model = task.model_class().from_pretrained(
        str(args.start), **({"attn_implementation": "eager"} if args.swift_dropout else {}))
    swift_dropout = SwiftDropout(torch) if args.swift_dropout else None
    seed = int(settings["seed"])
    if args.max_steps:
        settings["max_steps"] = args.max_steps  # the schedule's length, as the Swift trainer
    optimizer, scheduler, updates = reference.optimizer_and_schedule(
        torch, model, settings, len(task.train))
    epochs, accumulation = int(settings["epochs"]), int(settings["gradient_accumulation"])
    batch_size = int(settings["batch_size"])
    lengths = [len(f["input_ids"]) for f in task.train]
    step = 0
    with open(args.output, "w") as log:
        for epoch in range(epochs):
            if step >= updates:
                break
            model.train()
            order = swift_batch_order(lengths, batch_size, seed, epoch,
                                      bool(settings["length_bucketing"]))
            window = []
            for b, indices in enumerate(order):
                if swift_dropout:
                    swift_dropout.begin(seed, epoch, b)
                with swift_dropout or contextlib.nullcontext():
                    loss = model(**task.loss_batch(torch, indices)).loss
                (loss / accumulation).backward()
                window.append(loss.item())
                if (b + 1) % accumulation != 0 and b + 1 != len(order):
                    continue
                norm = torch.nn.utils.clip_grad_norm_(
                    model.parameters(), float(settings["max_grad_norm"]) or math.inf)
                rate = scheduler.get_last_lr()[0]
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                log.write(json.dumps({"epoch": epoch + 1, "step": step,
                                      "loss": sum(window) / len(window),
                                      "grad_norm": float(norm), "learning_rate": rate}) + "\n")
                log.flush()
                window = []
                if step >= updates:
                    break
            model.eval()
            with torch.no_grad():
                print(f"epoch {epoch + 1}: {task.evaluate(torch, model)}", flush=True)


def compare(args) -> None:
    swift = [json.loads(line) for line in open(args.swift)]
    torch_log = [json.loads(line) for line in open(args.pytorch)]
    steps = min(len(swift), len(torch_log))
    print("step  loss (Swift, PyTorch, |diff|)        grad norm (Swift, PyTorch, rel diff)")
    for i in range(steps):
        s, p = swift[i], torch_log[i]
        if i < 10 or (i + 1) % args.every == 0 or i == steps - 1:
            rel = abs(s["grad_norm"] - p["grad_norm"]) / max(p["grad_norm"], 1e-12)
            print(f"{i + 1:4d}  {s['loss']:.5f} {p['loss']:.5f} {abs(s['loss'] - p['loss']):.1e}"
                  f"    {s['grad_norm']:9.5f} {p['grad_norm']:9.5f} {rel:.1e}")
    def epoch_mean(log: list[dict], epoch: int) -> float:
        losses = [r["loss"] for r in log[:steps] if r["epoch"] == epoch]
        return sum(losses) / len(losses)

    for epoch in sorted({r["epoch"] for r in swift[:steps]}):
        print(f"epoch {epoch} mean loss: Swift {epoch_mean(swift, epoch):.4f}, "
              f"PyTorch {epoch_mean(torch_log, epoch):.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("start", help="write a start directory with a torch-drawn head")
    p.add_argument("folder", type=Path, help="a task folder of `bert demo --export-data`")
    p.add_argument("start", type=Path)
    p.add_argument("--model", type=Path, default=reference.default_model_dir())
    p.add_argument("--no-dropout", action="store_true", help="set every dropout to 0")
    p.add_argument("--max-steps", type=int, default=0, help="add --max-steps to the command")
    p = commands.add_parser("train", help="PyTorch fine-tuning in the Swift batch order")
    p.add_argument("folder", type=Path)
    p.add_argument("start", type=Path)
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--max-steps", type=int, default=0,
                   help="stop after this many updates, the schedule shortened to them")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dropout-seed", type=int, default=0, help="torch's seed for the masks")
    p.add_argument("--swift-dropout", action="store_true",
                   help="use the Swift trainer's dropout masks instead of torch's")
    p = commands.add_parser("compare", help="two training logs side by side")
    p.add_argument("swift", type=Path)
    p.add_argument("pytorch", type=Path)
    p.add_argument("--every", type=int, default=20, help="print every N-th step after the tenth")
    args = parser.parse_args()
    {"start": start, "train": train, "compare": compare}[args.command](args)


if __name__ == "__main__":
    main()
