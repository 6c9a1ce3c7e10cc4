#!/usr/bin/env python3
"""PyTorch reference fine-tuning for the demo's tasks.

Reads a directory written by `bert demo --export-data DIR` (one folder per task
with settings.json and the exact training and evaluation splits), fine-tunes the
same pretrained model with transformers and torch using the recipe of the Swift
trainer, and reports the scores the Swift run must come within 1 point of.

    python3 scripts/reference/finetune_pytorch.py DIR [--tasks qa,tagging]
        [--model MODEL_DIR] [--threads 2] [--output reference.json]
    python3 scripts/reference/finetune_pytorch.py --make-sample DIR   # a small export

See README.md next to this file for what matches the Swift recipe and what
does not.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import math
import os
import platform
import random
import re
import string
import sys
import time
from pathlib import Path

KNOWN_SETTINGS = {
    "task", "data", "train_examples", "eval_examples", "epochs", "batch_size",
    "learning_rate", "warmup_ratio", "weight_decay", "max_grad_norm",
    "gradient_accumulation", "max_length", "doc_stride", "max_answer_length",
    "label_all_tokens", "seed", "length_bucketing", "lr_schedule", "optimizer",
    "metric", "baseline", "label_scale", "max_steps",
}
TEXT_KINDS = ("classification", "pair-classification", "regression", "pair-regression")
ALL_KINDS = TEXT_KINDS + ("tagging", "qa")
IGNORE = -100
EVAL_BATCH = 64       # TrainingOptions.evaluationBatchSize
QA_EVAL_BATCH = 32    # QuestionAnsweringTask.score
N_BEST = 20


# ---------------------------------------------------------------------------
# Settings and data


def default_model_dir() -> Path:
    root = os.environ.get("BERT_ASSETS")
    base = Path(root) if root else Path.home() / ".cache" / "bert-swift" / "assets"
    return base / "all-MiniLM-L6-v2"


def task_kind(folder: Path, settings: dict) -> str:
    kind = settings.get("task") or folder.name
    if kind not in ALL_KINDS:
        sys.exit(f"{folder}: unknown task {kind!r}; expected one of {', '.join(ALL_KINDS)} "
                 "(the settings' `task`, or the folder name)")
    return kind


def read_settings(folder: Path) -> dict:
    raw = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    s = dict(raw)
    s.setdefault("epochs", 3)
    s.setdefault("batch_size", 32)
    s.setdefault("learning_rate", 5e-5)
    s.setdefault("warmup_ratio", 0.0)
    s.setdefault("weight_decay", 0.01)
    s.setdefault("max_grad_norm", 1.0)
    s.setdefault("gradient_accumulation", 1)
    s.setdefault("seed", 42)
    s.setdefault("length_bucketing", False)
    s.setdefault("label_all_tokens", False)
    s.setdefault("max_answer_length", 30)
    return s


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as error:
                    sys.exit(f"{path}:{number}: not JSON ({error})")
    if not rows:
        sys.exit(f"{path}: no examples")
    return rows


def locate_answer(answer: str, start: int, context: str) -> tuple[int | None, str]:
    """The answer's start in the context: as given, else within 8 characters
    (closest first, earlier first), else the nearest occurrence; as the Swift
    SQuAD reader does."""
    n = len(answer)
    if n == 0 or n > len(context):
        return None, "not_found"

    def matches(p: int) -> bool:
        return 0 <= p and p + n <= len(context) and context[p:p + n] == answer

    if matches(start):
        return start, "exact"
    for shift in range(1, 9):
        if matches(start - shift):
            return start - shift, "nearby"
        if matches(start + shift):
            return start + shift, "nearby"
    best = None
    p = context.find(answer)
    while p >= 0:
        if best is None or abs(p - start) < abs(best - start):
            best = p
        p = context.find(answer, p + 1)
    return (best, "nearest") if best is not None else (None, "not_found")


def read_squad(path: Path) -> tuple[list[dict], dict]:
    """SQuAD v1.1 questions, with answer offsets checked as the Swift reader does."""
    data = json.loads(path.read_text(encoding="utf-8"))
    examples, notes = [], collections.Counter()
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                answers = []
                for answer in qa.get("answers", []):
                    start, how = locate_answer(answer["text"], answer["answer_start"], context)
                    if how != "exact":
                        notes[f"answer_{how}"] += 1
                    if start is not None:
                        answers.append({"text": answer["text"], "start": start})
                if qa.get("answers") and not answers:
                    notes["question_without_valid_answer"] += 1
                    continue
                examples.append({"id": qa["id"], "question": qa["question"],
                                 "context": context, "answers": answers})
    if not examples:
        sys.exit(f"{path}: no questions")
    return examples, dict(notes)


def sorted_labels(labels) -> list[str]:
    """The Swift LabelSet order: numeric if every label is an integer, else by code points."""
    unique = set(labels)
    if unique and all(re.fullmatch(r"[+-]?[0-9]+", x) for x in unique):
        return sorted(unique, key=int)
    return sorted(unique)


def label_string(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---------------------------------------------------------------------------
# Batching and the schedule, as the Swift Trainer


def batch_order(lengths: list[int], batch_size: int, bucketing: bool, rng: random.Random):
    """A shuffle of the features cut into batches; with bucketing, sorted by
    length (longest first) within pools of 50 batches, then the batches shuffled."""
    indices = list(range(len(lengths)))
    rng.shuffle(indices)
    if bucketing:
        pool = batch_size * 50
        indices = [i for start in range(0, len(indices), pool)
                   for i in sorted(indices[start:start + pool], key=lambda i: -lengths[i])]
    batches = [indices[i:i + batch_size] for i in range(0, len(indices), batch_size)]
    if bucketing:
        rng.shuffle(batches)
    return batches


def warmup_steps(ratio: float, total: int) -> int:
    """ceil(ratio × total) in Float32, as LinearSchedule(warmupRatio:) computes it."""
    import numpy as np
    return int(math.ceil(float(np.float32(ratio) * np.float32(total))))


def optimizer_and_schedule(torch, model, settings: dict, features: int):
    """AdamW (betas 0.9, 0.999, eps 1e-8; no decay on biases and LayerNorm) and the
    linear warm-up and decay over all updates, as the Swift trainer; returns
    (optimizer, scheduler, updates), updates capped by `max_steps` when set."""
    from transformers import get_linear_schedule_with_warmup

    def decays(name: str) -> bool:
        return not (name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name)

    named = list(model.named_parameters())
    optimizer = torch.optim.AdamW(
        [{"params": [p for n, p in named if decays(n)],
          "weight_decay": float(settings["weight_decay"])},
         {"params": [p for n, p in named if not decays(n)], "weight_decay": 0.0}],
        lr=float(settings["learning_rate"]), betas=(0.9, 0.999), eps=1e-8)
    batches_per_epoch = math.ceil(features / int(settings["batch_size"]))
    updates_per_epoch = math.ceil(batches_per_epoch / int(settings["gradient_accumulation"]))
    total = updates_per_epoch * int(settings["epochs"])
    if settings.get("max_steps"):
        total = min(total, int(settings["max_steps"]))
    warmup = warmup_steps(float(settings["warmup_ratio"]), total)
    return optimizer, get_linear_schedule_with_warmup(optimizer, warmup, total), total


def pad(rows: list[list[int]], value: int = 0) -> list[list[int]]:
    width = max(len(r) for r in rows)
    return [r + [value] * (width - len(r)) for r in rows]


def tensor_batch(torch, features: list[dict], keys=("input_ids", "token_type_ids")) -> dict:
    """Dynamic padding to the longest feature of the batch."""
    batch = {"attention_mask": torch.tensor(pad([[1] * len(f["input_ids"]) for f in features]))}
    for key in keys:
        batch[key] = torch.tensor(pad([f[key] for f in features]))
    return batch


# ---------------------------------------------------------------------------
# Tasks: features, loss inputs, evaluation


class TextTask:
    """Single-text or pair classification or regression with BertForSequenceClassification."""

    def __init__(self, kind, tokenizer, train_rows, eval_rows, settings):
        self.kind = kind
        self.tokenizer = tokenizer
        self.pair = kind.startswith("pair-")
        self.regression = kind.endswith("regression")
        self.max_length = int(settings["max_length"]) if "max_length" in settings else 128
        if self.regression:
            self.labels = None
            self.train_targets = [float(r["label"]) for r in train_rows]
            self.eval_targets = [float(r["label"]) for r in eval_rows]
        else:
            self.labels = sorted_labels(label_string(r["label"]) for r in train_rows)
            ids = {label: i for i, label in enumerate(self.labels)}
            self.train_targets = [ids[label_string(r["label"])] for r in train_rows]
            # A label the training split never has cannot be predicted: its examples
            # count as errors, as in `bert finetune --dev` and `bert evaluate`. Each
            # such label gets an id past the model's, so scikit-learn counts it as a
            # class of its own (F1 0 in the macro mean, a row of the MCC's matrix).
            unseen = sorted({label_string(r["label"]) for r in eval_rows} - set(ids))
            ids.update({label: len(self.labels) + i for i, label in enumerate(unseen)})
            self.eval_targets = [ids[label_string(r["label"])] for r in eval_rows]
            self.unseen_eval_labels = sum(t >= len(self.labels) for t in self.eval_targets)
            if unseen:
                print(f"   note: {self.unseen_eval_labels} evaluation examples carry labels "
                      f"unseen in training ({', '.join(unseen)}); they count as errors")
        self.train = self.encode(train_rows)
        self.eval = self.encode(eval_rows)
        self.train_examples = len(train_rows)
        self.eval_examples = len(eval_rows)
        self.notes = {}
        if not self.regression and self.unseen_eval_labels:
            self.notes["examples_with_labels_unseen_in_training"] = self.unseen_eval_labels

    def model_class(self):
        from transformers import BertForSequenceClassification
        return BertForSequenceClassification

    def model_kwargs(self):
        if self.regression:
            return {"num_labels": 1, "problem_type": "regression"}
        return {"num_labels": len(self.labels), "problem_type": "single_label_classification",
                "id2label": dict(enumerate(self.labels)),
                "label2id": {x: i for i, x in enumerate(self.labels)}}

    def encode(self, rows):
        """[CLS] a [SEP] (b [SEP]), truncated as the Swift tokenizer's longest_first
        (one token at a time from the longer text, from the second on a tie)."""
        tok = self.tokenizer
        a = tok([r["text_a"] if self.pair else r["text"] for r in rows],
                add_special_tokens=False)["input_ids"]
        b = tok([r["text_b"] for r in rows], add_special_tokens=False)["input_ids"] \
            if self.pair else [None] * len(rows)
        features = []
        for ids_a, ids_b in zip(a, b):
            special = 3 if ids_b is not None else 2
            excess = len(ids_a) + (len(ids_b) if ids_b is not None else 0) + special \
                - self.max_length
            if excess > 0:
                if ids_b is None:
                    ids_a = ids_a[:len(ids_a) - min(excess, len(ids_a))]
                else:
                    la, lb = len(ids_a), len(ids_b)
                    from_longer = min(abs(lb - la), excess)
                    rest = excess - from_longer
                    remove_a = from_longer + rest // 2 if la > lb else rest // 2
                    remove_b = excess - remove_a
                    ids_a = ids_a[:la - min(remove_a, la)]
                    ids_b = ids_b[:lb - min(remove_b, lb)]
            ids = [tok.cls_token_id] + ids_a + [tok.sep_token_id]
            types = [0] * len(ids)
            if ids_b is not None:
                ids += ids_b + [tok.sep_token_id]
                types += [1] * (len(ids_b) + 1)
            features.append({"input_ids": ids, "token_type_ids": types})
        return features

    def loss_batch(self, torch, indices):
        batch = tensor_batch(torch, [self.train[i] for i in indices])
        dtype = torch.float32 if self.regression else torch.long
        batch["labels"] = torch.tensor([self.train_targets[i] for i in indices], dtype=dtype)
        return batch

    def evaluate(self, torch, model):
        outputs = []
        for start in range(0, len(self.eval), EVAL_BATCH):
            batch = tensor_batch(torch, self.eval[start:start + EVAL_BATCH])
            outputs.append(model(**batch).logits.float())
        logits = torch.cat(outputs).numpy()
        if self.regression:
            from scipy.stats import pearsonr, spearmanr
            predicted = logits[:, 0].astype("float64")
            gold = self.eval_targets
            constant = predicted.std() == 0
            return {
                "pearson": 0.0 if constant else float(pearsonr(predicted, gold)[0]),
                "spearman": 0.0 if constant else float(spearmanr(predicted, gold)[0]),
                "mse": float(((predicted - gold) ** 2).mean()),
            }
        from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef
        predicted = logits.argmax(axis=1)
        gold = self.eval_targets
        return {
            "accuracy": float(accuracy_score(gold, predicted)),
            "macro_f1": float(f1_score(gold, predicted, average="macro")),
            "mcc": float(matthews_corrcoef(gold, predicted)),
        }


class TaggingTask:
    """Token tagging with BertForTokenClassification: the word's tag on its first
    sub-token, -100 on the others and on special tokens (word_ids())."""

    def __init__(self, tokenizer, train_rows, eval_rows, settings):
        self.tokenizer = tokenizer
        self.max_length = int(settings.get("max_length", 128))
        self.label_all_tokens = bool(settings.get("label_all_tokens", False))
        self.labels = sorted_labels(t for r in train_rows for t in r["tags"])
        self.ids = {label: i for i, label in enumerate(self.labels)}
        # A tag the training split never has cannot be predicted: its words count
        # as errors, as in `bert demo` (rare tags such as LS and SYM).
        unseen = {t for r in eval_rows for t in r["tags"]} - set(self.ids)
        self.unseen_eval_tags = sum(t in unseen for r in eval_rows for t in r["tags"])
        if unseen:
            print(f"   note: {self.unseen_eval_tags} evaluation words carry tags unseen in "
                  f"training ({', '.join(sorted(unseen))}); they count as errors")
        for rows in (train_rows, eval_rows):
            for r in rows:
                if len(r["tokens"]) != len(r["tags"]):
                    sys.exit(f"tagging: a sentence has {len(r['tokens'])} tokens and "
                             f"{len(r['tags'])} tags")
        self.train = self.encode(train_rows, with_labels=True)
        self.eval = self.encode(eval_rows, with_labels=False)
        self.eval_tags = [r["tags"] for r in eval_rows]
        self.eval_words = [len(r["tokens"]) for r in eval_rows]
        self.train_examples = len(train_rows)
        self.eval_examples = len(eval_rows)
        self.notes = {}

    def model_class(self):
        from transformers import BertForTokenClassification
        return BertForTokenClassification

    def model_kwargs(self):
        return {"num_labels": len(self.labels), "id2label": dict(enumerate(self.labels)),
                "label2id": dict(self.ids)}

    def encode(self, rows, with_labels):
        enc = self.tokenizer([r["tokens"] for r in rows], is_split_into_words=True,
                             truncation=True, max_length=self.max_length)
        features = []
        for i, r in enumerate(rows):
            word_ids = enc.word_ids(i)
            feature = {"input_ids": enc["input_ids"][i], "word_ids": word_ids}
            if with_labels:
                labels, previous = [], None
                for w in word_ids:
                    if w is None:
                        labels.append(IGNORE)
                    elif w != previous:
                        labels.append(self.ids[r["tags"][w]])
                    elif self.label_all_tokens:
                        tag = r["tags"][w]
                        inside = "I-" + tag[2:] if tag.startswith("B-") else None
                        labels.append(self.ids.get(inside, self.ids[tag]))
                    else:
                        labels.append(IGNORE)
                    previous = w
                feature["labels"] = labels
            features.append(feature)
        return features

    def loss_batch(self, torch, indices):
        features = [self.train[i] for i in indices]
        batch = tensor_batch(torch, features, keys=("input_ids",))
        batch["labels"] = torch.tensor(pad([f["labels"] for f in features], IGNORE))
        return batch

    def evaluate(self, torch, model):
        # Words cut off by the maximum length get `O` if it is a tag, else the first tag.
        fallback = self.labels[self.ids.get("O", 0)]
        predictions, unpredicted = [], 0
        for start in range(0, len(self.eval), EVAL_BATCH):
            features = self.eval[start:start + EVAL_BATCH]
            batch = tensor_batch(torch, features, keys=("input_ids",))
            best = model(**batch).logits.argmax(dim=-1).tolist()
            for row, feature in enumerate(features):
                tags = [None] * self.eval_words[start + row]
                for position, w in enumerate(feature["word_ids"]):
                    if w is not None and tags[w] is None:
                        tags[w] = self.labels[best[row][position]]
                unpredicted += sum(t is None for t in tags)
                predictions.append([t if t is not None else fallback for t in tags])
        self.notes = {"words_without_prediction": unpredicted} if unpredicted else {}
        if self.unseen_eval_tags:
            self.notes["words_with_tags_unseen_in_training"] = self.unseen_eval_tags
        correct = sum(p == g for ps, gs in zip(predictions, self.eval_tags)
                      for p, g in zip(ps, gs))
        total = sum(len(gs) for gs in self.eval_tags)
        metrics = {"token_accuracy": correct / total if total else 0.0}
        if all(re.fullmatch(r"O|[BI]-.+", t) for gs in self.eval_tags for t in gs):
            try:
                from seqeval.metrics import f1_score, precision_score, recall_score
                from seqeval.scheme import IOB2
                options = {"mode": "strict", "scheme": IOB2}
                metrics["precision"] = precision_score(self.eval_tags, predictions, **options)
                metrics["recall"] = recall_score(self.eval_tags, predictions, **options)
                metrics["f1"] = f1_score(self.eval_tags, predictions, **options)
            except ImportError:
                pass
        return metrics


class QATask:
    """Extractive QA with BertForQuestionAnswering, on run_qa-style windows."""

    def __init__(self, tokenizer, train_examples, eval_examples, settings):
        self.tokenizer = tokenizer
        self.max_length = int(settings.get("max_length", 384))
        self.doc_stride = int(settings.get("doc_stride", 128))
        self.max_answer_length = int(settings.get("max_answer_length", 30))
        self.train_examples = len(train_examples)
        self.eval_examples = len(eval_examples)
        self.eval_questions = eval_examples
        self.windows_without_answer = 0
        self.examples_without_window = 0
        self.train = []
        windows = self.windows(train_examples)
        by_example = collections.defaultdict(list)
        for window in windows:
            by_example[window["example"]].append(window)
        for index, example in enumerate(train_examples):
            if not example["answers"]:
                continue
            found = False
            for window in by_example[index]:
                span = answer_tokens(window, example["answers"][0])
                if span is None:
                    # The Swift task leaves these windows out; run_qa labels them [CLS].
                    self.windows_without_answer += 1
                    continue
                found = True
                self.train.append({**window, "start_positions": span[0],
                                   "end_positions": span[1]})
            if not found:
                self.examples_without_window += 1
        self.eval = self.windows(eval_examples)
        self.notes = {"train_windows_without_answer_dropped": self.windows_without_answer,
                      "train_examples_without_window": self.examples_without_window}

    def model_class(self):
        from transformers import BertForQuestionAnswering
        return BertForQuestionAnswering

    def model_kwargs(self):
        return {}

    def windows(self, examples):
        """[CLS] question [SEP] passage part [SEP], parts overlapping by doc_stride tokens
        (truncation="only_second", return_overflowing_tokens, stride)."""
        enc = self.tokenizer([e["question"] for e in examples], [e["context"] for e in examples],
                             truncation="only_second", max_length=self.max_length,
                             stride=self.doc_stride, return_overflowing_tokens=True,
                             return_offsets_mapping=True)
        windows = []
        for i, example in enumerate(enc["overflow_to_sample_mapping"]):
            windows.append({"example": example, "input_ids": enc["input_ids"][i],
                            "token_type_ids": enc["token_type_ids"][i],
                            "sequence_ids": enc.sequence_ids(i),
                            "offsets": [tuple(o) for o in enc["offset_mapping"][i]]})
        return windows

    def loss_batch(self, torch, indices):
        features = [self.train[i] for i in indices]
        batch = tensor_batch(torch, features)
        for key in ("start_positions", "end_positions"):
            batch[key] = torch.tensor([f[key] for f in features])
        return batch

    def evaluate(self, torch, model):
        starts, ends = [], []
        for start in range(0, len(self.eval), QA_EVAL_BATCH):
            features = self.eval[start:start + QA_EVAL_BATCH]
            out = model(**tensor_batch(torch, features))
            s, e = out.start_logits.float().tolist(), out.end_logits.float().tolist()
            for row, f in enumerate(features):
                n = len(f["input_ids"])
                starts.append(s[row][:n])
                ends.append(e[row][:n])
        by_example = collections.defaultdict(list)
        for w, window in enumerate(self.eval):
            by_example[window["example"]].append(w)
        exact = f1 = 0.0
        for index, example in enumerate(self.eval_questions):
            members = by_example[index]
            text = decode_span(example["context"], [self.eval[w] for w in members],
                               [starts[w] for w in members], [ends[w] for w in members],
                               N_BEST, self.max_answer_length)
            golds = [a["text"] for a in example["answers"]]
            if golds:
                exact += max(float(normalize_answer(text) == normalize_answer(g)) for g in golds)
                f1 += max(squad_f1(text, g) for g in golds)
        n = len(self.eval_questions)
        return {"exact_match": 100 * exact / n if n else 0.0, "f1": 100 * f1 / n if n else 0.0}


def answer_tokens(window, answer):
    """The first and last token of the answer in the window, or None when the
    window's passage does not hold the whole answer (the Swift rule, after run_qa's
    prepare_train_features: the start token is the first passage token ending after
    the answer's start, the end token the last passage token beginning before its end)."""
    text = answer["text"]
    lower, upper = 0, len(text)
    while lower < upper and text[lower].isspace():
        lower += 1
    while upper > lower and text[upper - 1].isspace():
        upper -= 1
    a_start, a_end = answer["start"] + lower, answer["start"] + upper
    if a_start >= a_end:
        return None
    passage = [t for t, s in enumerate(window["sequence_ids"]) if s == 1]
    if not passage:
        return None
    offsets = window["offsets"]
    if offsets[passage[0]][0] > a_start or offsets[passage[-1]][1] < a_end:
        return None
    start = next((t for t in passage if offsets[t][1] > a_start), None)
    end = next((t for t in reversed(passage) if offsets[t][0] < a_end), None)
    if start is None or end is None or end < start:
        return None
    return start, end


def max_context_masks(windows):
    """For each window, its passage tokens whose maximum-context window it is
    (score min(left, right) + 0.01 × passage length, earlier window on a tie)."""
    best, keys = {}, []
    for w, window in enumerate(windows):
        passage = [t for t, s in enumerate(window["sequence_ids"]) if s == 1]
        n = len(passage)
        window_keys, previous, ordinal = [], None, 0
        for k, t in enumerate(passage):
            start = window["offsets"][t][0]
            ordinal = ordinal + 1 if start == previous else 0
            previous = start
            key = (start, ordinal)
            window_keys.append((t, key))
            score = 100 * min(k, n - 1 - k) + n
            if key not in best or best[key][0] < score:
                best[key] = (score, w)
        keys.append(window_keys)
    return [{t for t, key in window_keys if best[key][1] == w}
            for w, window_keys in enumerate(keys)]


def decode_span(context, windows, starts, ends, n_best, max_answer_length):
    """The best answer text: the n_best start tokens (max-context passage tokens)
    and end tokens (passage tokens) of each window, paired when start <= end and
    the span is at most max_answer_length tokens; highest start + end logit."""
    masks = max_context_masks(windows)
    best = None
    for w, window in enumerate(windows):
        s, e, offsets = starts[w], ends[w], window["offsets"]
        passage = [t for t, q in enumerate(window["sequence_ids"]) if q == 1]
        start_tokens = sorted((t for t in passage if t in masks[w] and not math.isnan(s[t])),
                              key=lambda t: (-s[t], t))[:n_best]
        end_tokens = sorted((t for t in passage if not math.isnan(e[t])),
                            key=lambda t: (-e[t], t))[:n_best]
        for i in start_tokens:
            for j in end_tokens:
                if j < i or j - i + 1 > max_answer_length:
                    continue
                lower, upper = offsets[i][0], offsets[j][1]
                score = s[i] + e[j]
                if not (0 <= lower < upper <= len(context)) or not math.isfinite(score):
                    continue
                key = (-score, w, i, j)
                if best is None or key < best[0]:
                    best = (key, lower, upper)
    return context[best[1]:best[2]] if best else ""


def normalize_answer(text):
    """The official SQuAD v1.1 normalisation."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def squad_f1(prediction, gold):
    p, g = normalize_answer(prediction).split(), normalize_answer(gold).split()
    same = sum((collections.Counter(p) & collections.Counter(g)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


# ---------------------------------------------------------------------------
# Training


def build_task(kind, folder, tokenizer, settings, limit_train, limit_eval):
    if kind == "qa":
        train, train_notes = read_squad(folder / "train.json")
        evaluation, eval_notes = read_squad(folder / "eval.json")
        train, evaluation = train[:limit_train], evaluation[:limit_eval]
        task = QATask(tokenizer, train, evaluation, settings)
        task.read_notes = {"train": train_notes, "eval": eval_notes}
        return task
    train = read_jsonl(folder / "train.jsonl")[:limit_train]
    evaluation = read_jsonl(folder / "eval.jsonl")[:limit_eval]
    task = TaggingTask(tokenizer, train, evaluation, settings) if kind == "tagging" \
        else TextTask(kind, tokenizer, train, evaluation, settings)
    task.read_notes = {}
    return task


def run_task(kind, folder, args, torch):
    from transformers import AutoTokenizer

    settings = read_settings(folder)
    unknown = sorted(set(settings) - KNOWN_SETTINGS)
    print(f"\n== {kind} ({folder})")
    print("   settings: " + ", ".join(f"{k}={settings[k]}" for k in sorted(settings)
                                      if k not in ("lr_schedule", "optimizer")))
    if unknown:
        print(f"   unknown settings (ignored): {', '.join(unknown)}")
    if args.epochs is not None:
        settings["epochs"] = args.epochs
        print(f"   epochs overridden to {args.epochs}")
    if args.seed is not None:
        settings["seed"] = args.seed
        print(f"   seed overridden to {args.seed}")
    if "max_length" not in settings:
        settings["max_length"] = 384 if kind == "qa" else 128
    seed = int(settings["seed"])
    epochs = int(settings["epochs"])
    batch_size = int(settings["batch_size"])
    accumulation = int(settings["gradient_accumulation"])
    max_norm = float(settings["max_grad_norm"])

    tokenizer = AutoTokenizer.from_pretrained(str(args.model))
    if not tokenizer.is_fast:
        sys.exit("a fast tokenizer is needed (word_ids and offsets); install `tokenizers`")
    task = build_task(kind, folder, tokenizer, settings, args.limit_train, args.limit_eval)
    features = len(task.train)
    print(f"   train: {task.train_examples} examples ({features} features), "
          f"eval: {task.eval_examples} examples ({len(task.eval)} features)")
    if task.notes:
        print(f"   notes: {task.notes}")
    if task.read_notes and any(task.read_notes.values()):
        print(f"   answers repaired or skipped while reading: {task.read_notes}")
    if features == 0:
        sys.exit(f"{kind}: no training features")

    torch.manual_seed(seed)  # the new head's initialisation, then dropout
    model_class = task.model_class()
    model, info = model_class.from_pretrained(str(args.model), output_loading_info=True,
                                              **task.model_kwargs())
    missing = [k for k in info.get("missing_keys", [])
               if not k.startswith(("classifier.", "qa_outputs."))]
    if missing:
        sys.exit(f"{args.model}: pretrained weights missing: {missing[:5]}")

    optimizer, scheduler, total = optimizer_and_schedule(torch, model, settings, features)
    lengths = [len(f["input_ids"]) for f in task.train]
    rng = random.Random(seed)
    metric = settings.get("metric") or {"qa": "f1", "tagging": "token_accuracy"}.get(
        kind, "pearson" if kind.endswith("regression") else "accuracy")

    history, step, train_seconds, eval_seconds, seen = [], 0, 0.0, 0.0, 0
    for epoch in range(1, epochs + 1):
        if step >= total:
            break
        model.train()
        order = batch_order(lengths, batch_size, bool(settings["length_bucketing"]), rng)
        started = time.perf_counter()
        loss_sum, updates, window_loss, passes = 0.0, 0, 0.0, 0
        for b, indices in enumerate(order):
            loss = model(**task.loss_batch(torch, indices)).loss
            if not torch.isfinite(loss):
                sys.exit(f"{kind}: the loss is not finite at step {step}")
            (loss / accumulation).backward()
            window_loss += loss.item()
            passes += 1
            seen += len(indices)
            if (b + 1) % accumulation != 0 and b + 1 != len(order):
                continue
            if max_norm > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            loss_sum += window_loss / passes
            updates += 1
            window_loss, passes = 0.0, 0
            if args.verbose and step % 10 == 0:
                print(f"   step {step}/{total} loss {loss_sum / updates:.4f}", flush=True)
            if step >= total:
                break
        epoch_seconds = time.perf_counter() - started
        train_seconds += epoch_seconds
        model.eval()
        started = time.perf_counter()
        with torch.no_grad():
            metrics = task.evaluate(torch, model)
        seconds = time.perf_counter() - started
        eval_seconds += seconds
        history.append({"epoch": epoch, "loss": loss_sum / max(updates, 1), "metrics": metrics,
                        "train_seconds": epoch_seconds, "eval_seconds": seconds,
                        **({"notes": task.notes} if task.notes else {})})
        shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        print(f"   epoch {epoch}: loss {loss_sum / max(updates, 1):.4f}, {shown} "
              f"(train {epoch_seconds:.1f} s, eval {seconds:.1f} s)", flush=True)

    if args.save_models:
        # The final model, for scoring it with `bert evaluate --task ...`: the same
        # model decoded and scored by both implementations.
        target = args.save_models / folder.name
        model.save_pretrained(target)
        tokenizer.save_pretrained(target)
        print(f"   saved the final model to {target}", flush=True)

    if metric not in history[0]["metrics"]:
        sys.exit(f"{kind}: the settings' metric {metric!r} is not one of "
                 f"{sorted(history[0]['metrics'])}")
    best = max(history, key=lambda h: (h["metrics"][metric], -h["epoch"]))
    return {
        "kind": kind,
        "folder": str(folder),
        "settings": settings,
        "sizes": {"train_examples": task.train_examples, "train_features": features,
                  "eval_examples": task.eval_examples, "eval_features": len(task.eval)},
        "notes": {**task.notes, **({"read": task.read_notes} if task.read_notes else {})},
        "updates": step,
        "warmup_steps": warmup_steps(float(settings["warmup_ratio"]), total),
        "metric": metric,
        "epochs": history,
        "best_epoch": best["epoch"],
        "best": best["metrics"][metric],
        "best_metrics": best["metrics"],
        "training_seconds": train_seconds,
        "evaluation_seconds": eval_seconds,
        "train_features_per_second": seen / train_seconds if train_seconds else None,
        "train_examples_per_second":
            task.train_examples * len(history) / train_seconds if train_seconds else None,
    }


# ---------------------------------------------------------------------------
# A small export to develop against


def make_sample(root: Path, train_n: int, eval_n: int):
    """Writes a small export in the layout of `bert demo --export-data`: from the
    real data in the asset cache when it is there, else from a few built-in lines."""
    data = default_model_dir().parent / "data"
    rng = random.Random(0)

    def settings(task, metric, **extra):
        s = {"task": task, "epochs": 1, "batch_size": 8, "learning_rate": 5e-5,
             "warmup_ratio": 0.1, "weight_decay": 0.01, "max_grad_norm": 1.0,
             "gradient_accumulation": 1, "max_length": 128, "seed": 42,
             "length_bucketing": True, "metric": metric, "note": "sample export"}
        s.update(extra)
        return s

    def write(task, s, train, evaluation, squad=False):
        folder = root / task
        folder.mkdir(parents=True, exist_ok=True)
        s["train_examples"], s["eval_examples"] = len(train), len(evaluation)
        (folder / "settings.json").write_text(json.dumps(s, indent=2) + "\n")
        if squad:
            for name, rows in (("train.json", train), ("eval.json", evaluation)):
                (folder / name).write_text(json.dumps(squad_layout(rows)) + "\n")
        else:
            for name, rows in (("train.jsonl", train), ("eval.jsonl", evaluation)):
                (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
        print(f"{folder}: {len(train)} train, {len(evaluation)} eval")

    n = train_n + eval_n
    # Single-text classification: sentence polarity.
    if (data / "polarity.csv").exists():
        with (data / "polarity.csv").open(encoding="utf-8-sig", newline="") as f:
            rows = [{"text": t.strip(), "label": label} for label, t in csv.reader(f)]
        rows = [r for r in rows if r["label"] == "1"][:n // 2 + 1] + \
            [r for r in rows if r["label"] == "-1"][:n // 2 + 1]
    else:
        rows = [{"text": t, "label": "1" if i % 2 == 0 else "-1"} for i, t in enumerate(
            ["a warm , funny and moving film .", "dull , lifeless and far too long .",
             "the cast is superb and the script sharp .", "an incoherent mess of a movie ."]
            * (n // 4 + 1))]
    rng.shuffle(rows)
    write("classification", settings("classification", "accuracy"),
          rows[:train_n], rows[train_n:n])

    # QNLI-style pairs and QA from SQuAD.
    if (data / "squad-dev-v1.1.json").exists():
        squad = json.loads((data / "squad-dev-v1.1.json").read_text(encoding="utf-8"))["data"]
    else:
        context = ("The Normans were the people who in the 10th and 11th centuries gave their "
                   "name to Normandy, a region in France. They were descended from Norse "
                   "raiders and pirates from Denmark, Iceland and Norway. Their leader Rollo "
                   "agreed to swear fealty to King Charles III of West Francia. ") * 3
        squad = [{"title": "Normans", "paragraphs": [{"context": context, "qas": [
            {"id": f"q{i}", "question": q, "answers": [{"text": a, "answer_start":
                                                        context.find(a)}]}
            for i, (q, a) in enumerate([("In what country is Normandy?", "France"),
                                        ("Who was the Norse leader?", "Rollo"),
                                        ("When did the Normans name Normandy?",
                                         "10th and 11th centuries")] * 4)]}]}]
    questions = [{"id": qa["id"], "question": qa["question"], "context": p["context"],
                  "answers": [{"text": a["text"], "start": a["answer_start"]}
                              for a in qa["answers"]], "title": a_["title"]}
                 for a_ in squad for p in a_["paragraphs"] for qa in p["qas"]]
    pairs = []
    for q in questions:
        sentences, start = [], 0
        for m in re.finditer(r"(?<=[.!?])\s+", q["context"]):
            sentences.append((start, q["context"][start:m.start()]))
            start = m.end()
        sentences.append((start, q["context"][start:]))
        answer = q["answers"][0]["start"]
        inside = [s for b, s in sentences if b <= answer < b + len(s) + 1]
        outside = [s for b, s in sentences if not b <= answer < b + len(s) + 1]
        if inside and outside:
            pairs.append({"text_a": q["question"], "text_b": inside[0], "label": "entailment"}
                         if len(pairs) % 2 == 0 else
                         {"text_a": q["question"], "text_b": rng.choice(outside),
                          "label": "not_entailment"})
        if len(pairs) >= n:
            break
    write("pair-classification", settings("pair-classification", "accuracy"),
          pairs[:train_n], pairs[train_n:n])
    titles = list(dict.fromkeys(q["title"] for q in questions))
    train_q = [q for q in questions if q["title"] != titles[-1]][:train_n]
    eval_q = [q for q in questions if q["title"] == titles[-1]][:eval_n]
    write("qa", settings("qa", "f1", max_length=256, doc_stride=64, max_answer_length=30),
          train_q, eval_q, squad=True)

    # Pair regression: Lee document similarity, 0-5.
    if (data / "lee.cor").exists():
        docs = (data / "lee.cor").read_text(encoding="utf-8", errors="replace").splitlines()
        matrix = [[float(x) for x in line.split()]
                  for line in (data / "lee-similarities.txt").read_text().splitlines()
                  if line.strip()]
        pairs = [{"text_a": docs[i], "text_b": docs[j], "label": 5 * matrix[i][j]}
                 for i in range(len(docs)) for j in range(i + 1, len(docs))]
    else:
        texts = ["The market fell sharply today.", "Stocks dropped on the exchange.",
                 "The team won the final.", "Rain is expected tomorrow."]
        pairs = [{"text_a": a, "text_b": b, "label": 4.0 if i < 2 and j < 2 else 1.0}
                 for i, a in enumerate(texts) for j, b in enumerate(texts) if i < j] * 4
    rng.shuffle(pairs)
    write("pair-regression", settings("pair-regression", "pearson", batch_size=8),
          pairs[:train_n], pairs[train_n:n])

    # Tagging: WSJ part of speech.
    if (data / "wsj-pos.txt").exists():
        sentences = []
        for line in (data / "wsj-pos.txt").read_text(encoding="utf-8").splitlines():
            pieces = [p.rsplit("/", 1) for p in line.split() if "/" in p]
            if pieces:
                sentences.append({"tokens": [w for w, _ in pieces], "tags": [t for _, t in pieces]})
    else:
        sentences = [{"tokens": "The cat sat on the mat .".split(),
                      "tags": ["DT", "NN", "VBD", "IN", "DT", "NN", "."]}] * n
    train_s = sentences[:train_n]
    seen = {t for s in train_s for t in s["tags"]}
    eval_s = [s for s in sentences[train_n:] if set(s["tags"]) <= seen][:eval_n]
    write("tagging", settings("tagging", "token_accuracy", learning_rate=1e-4),
          train_s, eval_s)


def squad_layout(questions):
    articles = collections.OrderedDict()
    for q in questions:
        paragraphs = articles.setdefault(q["title"], collections.OrderedDict())
        paragraphs.setdefault(q["context"], []).append(
            {"id": q["id"], "question": q["question"],
             "answers": [{"text": a["text"], "answer_start": a["start"]} for a in q["answers"]]})
    return {"version": "1.1", "data": [
        {"title": t, "paragraphs": [{"context": c, "qas": qas} for c, qas in ps.items()]}
        for t, ps in articles.items()]}


def benchmark(args, torch):
    """Training throughput of the sequence-classification model at a fixed shape:
    forward, backward, clipping and an AdamW step, in train mode (dropout on)."""
    from transformers import BertForSequenceClassification

    b, t = (int(x) for x in args.benchmark.lower().split("x"))
    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(str(args.model), num_labels=2)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    ids = torch.randint(1000, 20000, (b, t))
    labels = torch.randint(0, 2, (b,))
    times = []
    for _ in range(5):
        started = time.perf_counter()
        loss = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - started)
    median = sorted(times[1:])[len(times[1:]) // 2]
    model.eval()
    with torch.no_grad():
        started = time.perf_counter()
        model(input_ids=ids, attention_mask=torch.ones_like(ids))
        inference = time.perf_counter() - started
    print(f"{b}x{t}: training {median:.2f} s/step, {b / median:.1f} sequences/s "
          f"(best {b / min(times[1:]):.1f}); inference {b / inference:.1f} sequences/s; "
          f"{args.threads} threads, load average {os.getloadavg()}")


# ---------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", nargs="?", type=Path,
                        help="the directory written by `bert demo --export-data`")
    parser.add_argument("--model", type=Path, default=default_model_dir(),
                        help="the pretrained model directory (default: %(default)s)")
    parser.add_argument("--tasks", help="comma-separated task folders to run (default: all)")
    parser.add_argument("--output", type=Path, help="write the results as JSON here")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--save-models", type=Path, metavar="DIR",
                        help="save each task's final model under DIR/<task> (Hugging Face "
                             "layout, for bert evaluate --task)")
    parser.add_argument("--epochs", type=int, help="override the settings' epochs (testing)")
    parser.add_argument("--seed", type=int, help="override the settings' seed (to measure "
                        "the spread between seeds)")
    parser.add_argument("--limit-train", type=int, help="use only the first N training "
                        "examples (testing; the reference uses all)")
    parser.add_argument("--limit-eval", type=int, help="use only the first N evaluation "
                        "examples (testing)")
    parser.add_argument("--make-sample", type=Path, metavar="DIR",
                        help="write a small export to DIR and exit")
    parser.add_argument("--sample-train", type=int, default=64)
    parser.add_argument("--sample-eval", type=int, default=32)
    parser.add_argument("--benchmark", metavar="BxT", help="time training steps on random "
                        "token ids of B sequences of T tokens (e.g. 16x128) and exit")
    parser.add_argument("--verbose", action="store_true", help="print the loss every 10 steps")
    args = parser.parse_args()

    if args.make_sample:
        make_sample(args.make_sample, args.sample_train, args.sample_eval)
        return
    if args.data is None and not args.benchmark:
        parser.error("give the export directory, or --make-sample DIR, or --benchmark BxT")
    if not (args.model / "config.json").exists():
        sys.exit(f"{args.model}: no config.json; pass --model or set BERT_ASSETS")

    # OpenMP threads that spin while waiting are 2-3x slower on a busy machine;
    # this has no effect on the numbers.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.set_num_threads(args.threads)
    if args.benchmark:
        benchmark(args, torch)
        return
    folders = sorted(p.parent for p in args.data.glob("*/settings.json"))
    if args.tasks:
        wanted = [t.strip() for t in args.tasks.split(",") if t.strip()]
        missing = [t for t in wanted if not (args.data / t / "settings.json").exists()]
        if missing:
            sys.exit(f"{args.data}: no settings.json for {', '.join(missing)}")
        folders = [args.data / t for t in wanted]
    if not folders:
        sys.exit(f"{args.data}: no task folder with a settings.json")

    order = {k: i for i, k in enumerate(ALL_KINDS)}
    runs = []
    for folder in folders:
        settings = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
        runs.append((task_kind(folder, settings), folder))
    runs.sort(key=lambda r: (order[r[0]], r[1].name))

    try:
        load = os.getloadavg()
    except OSError:
        load = None
    results = {
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__},
        "model": str(args.model),
        "threads": args.threads,
        "load_average_at_start": load,
        "overrides": {k: v for k, v in (("epochs", args.epochs), ("limit_train",
                      args.limit_train), ("limit_eval", args.limit_eval)) if v is not None},
        "tasks": {},
    }
    for kind, folder in runs:
        results["tasks"][folder.name] = run_task(kind, folder, args, torch)
        if args.output:
            args.output.write_text(json.dumps(results, indent=2) + "\n")
    try:
        results["load_average_at_end"] = os.getloadavg()
    except OSError:
        pass
    if args.output:
        args.output.write_text(json.dumps(results, indent=2) + "\n")

    print(f"\n{'task':<20} {'train':>6} {'eval':>6} {'metric':<15} {'best':>8} {'epoch':>5} "
          f"{'train s':>8} {'feat/s':>7}")
    for name, r in results["tasks"].items():
        best = r["best"] * (1 if r["metric"] in ("f1", "exact_match") and r["kind"] == "qa"
                            else 100)
        print(f"{name:<20} {r['sizes']['train_examples']:>6} {r['sizes']['eval_examples']:>6} "
              f"{r['metric']:<15} {best:>8.2f} {r['best_epoch']:>5} "
              f"{r['training_seconds']:>8.1f} {r['train_features_per_second']:>7.1f}")
    print("(scores in points: percent, or correlation × 100)")
    print(f"python {results['versions']['python']}, torch {results['versions']['torch']}, "
          f"transformers {results['versions']['transformers']}, {args.threads} threads, "
          f"load average {load}")


if __name__ == "__main__":
    main()
