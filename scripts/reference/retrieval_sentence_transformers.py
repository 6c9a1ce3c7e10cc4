#!/usr/bin/env python3
"""sentence-transformers reference for the retrieval row of the demo.

Reads a retrieval export (a folder with settings.json, train.jsonl of
{"query", "positive"}, queries.jsonl of {"id", "text", "relevant"} and
corpus.jsonl of {"id", "text"}), scores the pretrained model, fine-tunes it with
sentence-transformers' MultipleNegativesRankingLoss and the export's recipe
(batch size, epochs, learning rate, warm-up, max length; batches without
duplicate texts), and scores it again. Scores are exact search over the whole
corpus with cosine similarity: MRR@10, Recall@1/5/10/100 and nDCG@10.

    python3 scripts/reference/retrieval_sentence_transformers.py DIR \
        [--model MODEL_DIR] [--threads 2] [--output reference-retrieval.json] [--save-model DIR]

Needs torch, sentence-transformers, datasets and accelerate.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def metrics(ranked: list[list[str]], relevant: list[set[str]]) -> dict[str, float]:
    """Binary-relevance metrics over ranked id lists, one list per query."""
    out: dict[str, float] = {}
    for k in (1, 5, 10, 100):
        out[f"recall@{k}"] = sum(
            len(set(r[:k]) & rel) / len(rel) for r, rel in zip(ranked, relevant)) / len(ranked)
    mrr = 0.0
    ndcg = 0.0
    for r, rel in zip(ranked, relevant):
        for rank, doc in enumerate(r[:10], start=1):
            if doc in rel:
                mrr += 1 / rank
                break
        dcg = sum(1 / math.log2(rank + 1) for rank, doc in enumerate(r[:10], start=1) if doc in rel)
        ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(len(rel), 10) + 1))
        ndcg += dcg / ideal
    out["mrr@10"] = mrr / len(ranked)
    out["ndcg@10"] = ndcg / len(ranked)
    return out


def evaluate(model, queries: list[dict], corpus: list[dict], batch_size: int) -> dict[str, float]:
    import torch

    docs = model.encode([d["text"] for d in corpus], batch_size=batch_size,
                        convert_to_tensor=True, normalize_embeddings=True)
    qs = model.encode([q["text"] for q in queries], batch_size=batch_size,
                      convert_to_tensor=True, normalize_embeddings=True)
    scores = qs @ docs.T  # [queries, documents]
    top = torch.topk(scores, k=min(100, len(corpus)), dim=1).indices.tolist()
    ranked = [[corpus[i]["id"] for i in row] for row in top]
    return metrics(ranked, [set(q["relevant"]) for q in queries])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path)
    assets = os.environ.get("BERT_ASSETS", str(Path.home() / ".cache/bert-swift/assets"))
    parser.add_argument("--model", default=str(Path(assets) / "all-MiniLM-L6-v2"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--save-model", type=Path)
    args = parser.parse_args()

    import torch
    from datasets import Dataset
    from sentence_transformers import (SentenceTransformer, SentenceTransformerTrainer,
                                       SentenceTransformerTrainingArguments, losses)
    from sentence_transformers.training_args import BatchSamplers

    torch.set_num_threads(args.threads)
    settings = json.loads((args.data / "settings.json").read_text())
    train = read_jsonl(args.data / "train.jsonl")
    queries = read_jsonl(args.data / "queries.jsonl")
    corpus = read_jsonl(args.data / "corpus.jsonl")
    batch_size = int(settings.get("batch_size", 32))

    model = SentenceTransformer(args.model, device="cpu")
    model.max_seq_length = int(settings.get("max_length", 256))
    result = {
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "sentence_transformers": __import__("sentence_transformers").__version__},
        "settings": settings,
        "sizes": {"train": len(train), "queries": len(queries), "corpus": len(corpus)},
    }
    start = time.time()
    result["pretrained"] = evaluate(model, queries, corpus, batch_size)
    result["pretrained_seconds"] = round(time.time() - start, 2)

    dataset = Dataset.from_dict({"anchor": [p["query"] for p in train],
                                 "positive": [p["positive"] for p in train]})
    loss = losses.MultipleNegativesRankingLoss(model, scale=float(settings.get("scale", 20)))
    training = SentenceTransformerTrainingArguments(
        output_dir=str(args.data / "st-run"), num_train_epochs=float(settings.get("epochs", 1)),
        per_device_train_batch_size=batch_size, learning_rate=float(settings.get("learning_rate", 2e-5)),
        warmup_ratio=float(settings.get("warmup_ratio", 0.1)), lr_scheduler_type="linear",
        weight_decay=float(settings.get("weight_decay", 0.01)), seed=int(settings.get("seed", 42)),
        batch_sampler=BatchSamplers.NO_DUPLICATES, save_strategy="no", report_to="none",
        logging_steps=50, use_cpu=True)
    start = time.time()
    SentenceTransformerTrainer(model=model, args=training, train_dataset=dataset, loss=loss).train()
    result["train_seconds"] = round(time.time() - start, 2)
    result["fine_tuned"] = evaluate(model, queries, corpus, batch_size)
    if args.save_model:
        model.save(str(args.save_model))
    text = json.dumps(result, indent=1)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
