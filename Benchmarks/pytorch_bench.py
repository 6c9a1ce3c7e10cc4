#!/usr/bin/env python3
"""The PyTorch side of bert-bench: encoder forward and a fine-tuning step.

Measures the same encoder configs, shapes and training step as
`swift run -c release bert-bench`, with transformers' BertModel and
BertForSequenceClassification built from a BertConfig with random weights,
and writes JSON in bert-bench's schema ("backend": "pytorch"). Read it with
`bert-bench --compare FILE`.

Every row runs in a child process of its own (this script with --row ID), so
that each row's peak RSS (ru_maxrss) is its own; it includes the Python
runtime and torch itself.

    python3 Benchmarks/pytorch_bench.py --json pytorch.json [--threads 2] [--quick]
"""

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

# name: (layers, hidden, heads, intermediate); vocabulary 30522 for all.
SHAPES = {
    "tiny": (2, 128, 2, 512),
    "small": (4, 256, 4, 1024),
    "minilm": (6, 384, 12, 1536),
    "base": (12, 768, 12, 3072),
}


def row_specs(quick, threads):
    """The encoder and train rows, with the ids bert-bench uses."""
    specs = []
    if quick:
        encoder = [("tiny", 8, 128, threads), ("minilm", 8, 128, threads), ("base", 1, 128, threads)]
        if threads != 1:
            encoder.append(("tiny", 8, 128, 1))
        train = [("tiny", 8, 128)]
    else:
        encoder = [(n, b, t, threads) for n in SHAPES for (b, t) in [(1, 128), (8, 128), (1, 512)]]
        if threads != 1:
            encoder += [(n, 8, 128, 1) for n in SHAPES]
        # minilm 16x32: short sentences, where the per-update costs weigh most.
        train = [("tiny", 8, 128), ("minilm", 32, 128), ("minilm", 16, 32), ("base", 8, 128)]
    for name, batch, seq, t in encoder:
        specs.append({"kind": "encoder", "name": name, "batch": batch, "seq": seq, "threads": t})
    for name, batch, seq in train:
        specs.append({"kind": "train", "name": name, "batch": batch, "seq": seq, "threads": threads})
    return specs


def row_id(spec):
    return f"{spec['kind']}/{spec['name']}/{spec['batch']}x{spec['seq']}/t{spec['threads']}"


def forward_flops(name, batch, seq):
    """FLOPs of the forward pass's matrix products: B·T·L·(8H² + 4H·I + 4T·H) + 2·B·H²."""
    layers, h, _, i = SHAPES[name]
    return batch * seq * layers * (8 * h * h + 4 * h * i + 4 * seq * h) + 2 * batch * h * h


def policy(kind, quick):
    """(warm-ups, minimum repeats, maximum repeats, time budget in seconds), as bert-bench."""
    if quick:
        return 1, 3, 10, 0.2
    return (1, 5, 20, 3.0) if kind == "encoder" else (1, 3, 10, 5.0)


def measure(spec, quick):
    """Runs one row in this process and returns its JSON row."""
    import torch
    import transformers

    torch.set_num_threads(spec["threads"])
    torch.manual_seed(0)
    layers, hidden, heads, intermediate = SHAPES[spec["name"]]
    config = transformers.BertConfig(
        vocab_size=30522,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        num_labels=2,
    )
    batch, seq = spec["batch"], spec["seq"]
    generator = torch.Generator().manual_seed(11)
    input_ids = torch.randint(1000, 21000, (batch, seq), generator=generator)
    attention_mask = torch.ones(batch, seq, dtype=torch.long)

    if spec["kind"] == "encoder":
        model = transformers.BertModel(config).eval()

        def body():
            start = time.perf_counter()
            with torch.inference_mode():
                model(input_ids=input_ids, attention_mask=attention_mask)
            return time.perf_counter() - start

        flops = forward_flops(spec["name"], batch, seq)
    else:
        model = transformers.BertForSequenceClassification(config).train()
        no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
        decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
            lr=5e-5,
        )
        labels = torch.tensor([i % 2 for i in range(batch)])

        def body():
            start = time.perf_counter()
            loss = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            return time.perf_counter() - start

        flops = 3 * forward_flops(spec["name"], batch, seq)

    warmups, minimum, maximum, budget = policy(spec["kind"], quick)
    for _ in range(warmups):
        body()
    samples = []
    while len(samples) < minimum or (sum(samples) < budget and len(samples) < maximum):
        samples.append(body())
    median = statistics.median(samples)
    row = dict(spec)
    row.update(
        backend="pytorch",
        median_s=median,
        min_s=min(samples),
        max_s=max(samples),
        gflops=flops / median / 1e9,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        repeats=len(samples),
    )
    if spec["kind"] == "encoder":
        row["tokens_per_s"] = batch * seq / median
    else:
        row["sequences_per_s"] = batch / median
    return row


def machine(threads, quick):
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import torch

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "openblas_core": None,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "peak_gflops": None,
        "load_average": list(os.getloadavg()),
        "threads": threads,
        "quick": quick,
        "torch": torch.__version__,
        "blas": "mkl" if torch.backends.mkl.is_available() else "other",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", help="write the report here (default: stdout)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--quick", action="store_true", help="fewer rows and repeats")
    parser.add_argument("--filter", help="only rows whose id contains this text")
    parser.add_argument("--row", help=argparse.SUPPRESS)
    args = parser.parse_args()

    specs = row_specs(args.quick, args.threads)
    if args.row:
        spec = next(s for s in specs if row_id(s) == args.row)
        json.dump(measure(spec, args.quick), sys.stdout)
        return

    rows = []
    report = {"machine": machine(args.threads, args.quick), "rows": rows}
    for spec in specs:
        if args.filter and args.filter not in row_id(spec):
            continue
        command = [sys.executable, os.path.abspath(__file__), "--row", row_id(spec), "--threads", str(args.threads)]
        if args.quick:
            command.append("--quick")
        result = subprocess.run(command, stdout=subprocess.PIPE, check=True)
        row = json.loads(result.stdout)
        rows.append(row)
        extra = f"{row['tokens_per_s']:.0f} tok/s" if "tokens_per_s" in row else f"{row['sequences_per_s']:.1f} seq/s"
        print(
            f"{row_id(spec):28} {row['median_s'] * 1000:10.2f} ms "
            f"[{row['min_s'] * 1000:.2f}–{row['max_s'] * 1000:.2f}] "
            f"{row['gflops']:6.1f} GF/s  {extra}  rss {row['peak_rss_mb']:.0f} MB",
            file=sys.stderr,
        )
    text = json.dumps(report, indent=2)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
