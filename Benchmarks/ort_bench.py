#!/usr/bin/env python3
"""The ONNX Runtime side of bert-bench: encoder forward in fp32 and dynamic int8.

Builds the same encoder configs as `bert-bench` and `pytorch_bench.py` with
random weights (torch seed 0), exports each with torch.onnx (the TorchScript
exporter, eager attention, so that ONNX Runtime's transformers optimizer can
fuse it), applies that optimizer (EmbedLayerNormalization, Attention,
SkipLayerNormalization, BiasGelu), and quantizes the optimized graph with
`quantize_dynamic` (int8 weights, one scale per output channel; activations
quantized at run time). Each row times one shape and one precision with
`intra_op_num_threads` threads, in a child process of its own so that its peak
RSS (ru_maxrss) is its own, and writes JSON in bert-bench's schema
("backend": "onnxruntime", "precision": "fp32" or "int8"). Read it with
`bert-bench --compare FILE`.

    pip install torch transformers onnx onnxruntime
    python3 Benchmarks/ort_bench.py --json ort.json [--threads 2] [--quick] [--filter minilm]

The exported models are kept in --work (default: a temporary directory
removed at the end) and reused by every row of that shape.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# name: (layers, hidden, heads, intermediate); vocabulary 30522 for all.
SHAPES = {
    "tiny": (2, 128, 2, 512),
    "small": (4, 256, 4, 1024),
    "minilm": (6, 384, 12, 1536),
    "base": (12, 768, 12, 3072),
}
PRECISIONS = ("fp32", "int8")


def row_specs(quick, threads):
    """The encoder rows, with the ids bert-bench uses, once per precision."""
    if quick:
        encoder = [("tiny", 8, 128), ("minilm", 8, 128), ("base", 1, 128)]
    else:
        encoder = [(n, b, t) for n in SHAPES for (b, t) in [(1, 128), (8, 128), (1, 512)]]
    return [
        {"kind": "encoder", "name": n, "batch": b, "seq": t, "threads": threads, "precision": p}
        for n, b, t in encoder
        for p in PRECISIONS
    ]


def row_id(spec):
    base = f"{spec['kind']}/{spec['name']}/{spec['batch']}x{spec['seq']}/t{spec['threads']}"
    return base if spec["precision"] == "fp32" else base + "/int8"


def forward_flops(name, batch, seq):
    """FLOPs of the forward pass's matrix products: B·T·L·(8H² + 4H·I + 4T·H)."""
    layers, h, _, i = SHAPES[name]
    return batch * seq * layers * (8 * h * h + 4 * h * i + 4 * seq * h)


def policy(quick):
    """(warm-ups, minimum repeats, maximum repeats, time budget in seconds), as bert-bench."""
    return (1, 3, 10, 0.2) if quick else (1, 5, 20, 3.0)


def model_paths(work, name):
    return {p: os.path.join(work, f"{name}-{p}.onnx") for p in PRECISIONS}


def export(work, name):
    """Exports, optimizes and quantizes one config; returns the largest |ORT fp32 − torch|."""
    import numpy
    import onnx
    import onnxruntime
    import torch
    import transformers
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    paths = model_paths(work, name)
    if all(os.path.exists(p) for p in paths.values()):
        return None
    layers, hidden, heads, intermediate = SHAPES[name]
    config = transformers.BertConfig(
        vocab_size=30522,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
    )
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    model = transformers.BertModel(config, add_pooling_layer=False).eval()

    class Encoder(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    inputs = example_inputs(2, 16)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.inference_mode():
        expected = Encoder(model)(*(torch.from_numpy(inputs[n]) for n in names)).numpy()
    raw = os.path.join(work, f"{name}-raw.onnx")
    torch.onnx.export(
        Encoder(model),
        tuple(torch.from_numpy(inputs[n]) for n in names),
        raw,
        input_names=names,
        output_names=["last_hidden_state"],
        dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names},
        opset_version=18,
        dynamo=False,
    )
    optimized = optimizer.optimize_model(raw, model_type="bert", num_heads=heads, hidden_size=hidden)
    fused = {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}
    for op in ("Attention", "SkipLayerNormalization", "BiasGelu"):
        if not fused.get(op):
            sys.exit(f"ort_bench: the optimizer did not fuse {op} in {name} ({fused})")
    optimized.save_model_to_file(paths["fp32"])
    # The fused operators are in the com.microsoft domain, which ONNX shape
    # inference does not type; their outputs are float32.
    quantize_dynamic(
        paths["fp32"],
        paths["int8"],
        per_channel=True,
        weight_type=QuantType.QInt8,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    session = onnxruntime.InferenceSession(paths["fp32"], providers=["CPUExecutionProvider"])
    actual = session.run(None, inputs)[0]
    return float(numpy.abs(actual - expected).max())


def example_inputs(batch, seq):
    import numpy

    generator = numpy.random.default_rng(11)
    return {
        "input_ids": generator.integers(1000, 21000, (batch, seq), dtype=numpy.int64),
        "attention_mask": numpy.ones((batch, seq), dtype=numpy.int64),
        "token_type_ids": numpy.zeros((batch, seq), dtype=numpy.int64),
    }


def measure(spec, work, quick):
    """Runs one row in this process and returns its JSON row."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = spec["threads"]
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    path = model_paths(work, spec["name"])[spec["precision"]]
    session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    batch, seq = spec["batch"], spec["seq"]
    inputs = example_inputs(batch, seq)

    def body():
        start = time.perf_counter()
        session.run(None, inputs)
        return time.perf_counter() - start

    warmups, minimum, maximum, budget = policy(quick)
    for _ in range(warmups):
        body()
    samples = []
    while len(samples) < minimum or (sum(samples) < budget and len(samples) < maximum):
        samples.append(body())
    median = statistics.median(samples)
    row = dict(spec)
    row.update(
        backend="onnxruntime",
        median_s=median,
        min_s=min(samples),
        max_s=max(samples),
        gflops=forward_flops(spec["name"], batch, seq) / median / 1e9,
        tokens_per_s=batch * seq / median,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        repeats=len(samples),
    )
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
    import onnxruntime

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "openblas_core": None,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "peak_gflops": None,
        "load_average": list(os.getloadavg()),
        "threads": threads,
        "quick": quick,
        "onnxruntime": onnxruntime.__version__,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", help="write the report here (default: stdout)")
    parser.add_argument("--threads", type=int, default=2, help="intra_op_num_threads (default 2)")
    parser.add_argument("--quick", action="store_true", help="fewer rows and repeats")
    parser.add_argument("--filter", help="only rows whose id contains this text")
    parser.add_argument("--work", help="where the exported models are kept (default: a temporary directory)")
    parser.add_argument("--row", help=argparse.SUPPRESS)
    parser.add_argument("--export", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export:
        json.dump(export(args.work, args.export), sys.stdout)
        return

    specs = row_specs(args.quick, args.threads)
    if args.row:
        spec = next(s for s in specs if row_id(s) == args.row)
        json.dump(measure(spec, args.work, args.quick), sys.stdout)
        return

    work = args.work or tempfile.mkdtemp(prefix="ort-bench-")
    os.makedirs(work, exist_ok=True)
    selected = [s for s in specs if not args.filter or args.filter in row_id(s)]
    # Export first, so that no export runs between timed rows, each in a child
    # process: a row's peak RSS must not start from an exporter's.
    export_error = {}
    for name in dict.fromkeys(s["name"] for s in selected):
        print(f"exporting {name}", file=sys.stderr)
        command = [sys.executable, os.path.abspath(__file__), "--export", name, "--work", work]
        result = subprocess.run(command, stdout=subprocess.PIPE, check=True)
        export_error[name] = json.loads(result.stdout)
    rows = []
    report = {"machine": machine(args.threads, args.quick), "rows": rows}
    try:
        for spec in selected:
            command = [sys.executable, os.path.abspath(__file__), "--row", row_id(spec)]
            command += ["--threads", str(args.threads), "--work", work]
            if args.quick:
                command.append("--quick")
            result = subprocess.run(command, stdout=subprocess.PIPE, check=True)
            row = json.loads(result.stdout)
            if export_error.get(spec["name"]) is not None:
                row["export_max_abs_diff"] = export_error[spec["name"]]
            rows.append(row)
            print(f"{row_id(spec):34} {row['median_s'] * 1000:9.2f} ms", file=sys.stderr)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    report["machine"]["load_average_end"] = list(os.getloadavg())
    text = json.dumps(report, indent=2)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
