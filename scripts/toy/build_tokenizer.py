#!/usr/bin/env python3
"""Builds the focus-toy tokenizer: a LLaMA-legacy SentencePiece-style BPE, trained on the training texts.

The construction is the one of the `tiny-llava-sp` test fixture (scripts/fixtures/make_tokenizer_fixtures.py,
imported, not copied): normalizer Prepend("▁") + Replace(" ", "▁"), no pre-tokenizer, BPE with
byte_fallback, <unk>=0 <s>=1 </s>=2, <0x00>..<0xFF>=3..258, then the learned pieces, the LLaMA decoder,
TemplateProcessing adding <s>, and the added special tokens <image> and <pad> after the vocabulary,
merges written in the legacy "a b" form. Only the corpus differs: the prompts and answers of the
training samples in the LLaVA-1.5 chat format, plus the few-shot examples of FOCUS step 1.

Deterministic: the same samples give the same files.

  /work/venv-fixtures/bin/python scripts/toy/build_tokenizer.py --data DIR --out DIR [--vocab-size 1000]
"""
import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "fixtures"))

from tokenizers import Tokenizer, models, pre_tokenizers, trainers  # noqa: E402

import make_tokenizer_fixtures as fixtures  # noqa: E402

FEW_SHOT = ROOT / "data" / "target-extraction" / "synthetic.json"
IMAGE_TOKEN = "<image>"
EXTRACTION_INSTRUCTION = "If you want to answer the question, which objects' information do you need?"


def corpus(samples, few_shot) -> list[str]:
    """Chat-formatted texts, <image> removed, newlines as spaces (newlines go through byte fallback,
    as in LLaMA), unique, in first-seen order."""
    texts = ["USER: ASSISTANT:"]
    for ex in few_shot:
        texts.append(f"USER: Question: {ex['question']} {EXTRACTION_INSTRUCTION} ASSISTANT: {ex['answer']}")
    for s in samples:
        for turn in [s] + s.get("turns", []):
            prompt = turn["prompt"].replace(IMAGE_TOKEN, "")
            texts.append(f"USER: {prompt} ASSISTANT: {turn['answer']}")
    seen, out = set(), []
    for t in texts:
        t = " ".join(t.replace("\n", " ").split())
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out





def train_vocab(texts: list[str], vocab_size: int):
    """fixtures.train_sentencepiece_like with our corpus: LLaMA-layout vocab and merges."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - len(fixtures.BYTE_TOKENS),
                                  special_tokens=["<unk>", "<s>", "</s>"], show_progress=False)
    tok.train_from_iterator(texts, trainer)
    model = json.loads(tok.to_str())["model"]
    learned = sorted(model["vocab"].items(), key=lambda kv: kv[1])
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for token in fixtures.BYTE_TOKENS:
        vocab[token] = len(vocab)
    for token, _ in learned:
        if token not in vocab:
            vocab[token] = len(vocab)
    return vocab, [tuple(m) for m in model["merges"]]


def build(samples, few_shot, out: Path, vocab_size: int = 1000) -> None:
    vocab, merges = train_vocab(corpus(samples, few_shot), vocab_size)
    fixtures.save_pretrained(fixtures.build_llava_sp(vocab, merges), out, merges_as_strings=True,
                             bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
                             add_bos_token=True, add_eos_token=False, extra_special_tokens=[IMAGE_TOKEN])


def read_samples(data: Path) -> list[dict]:
    with open(data / "samples.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a focus synth-train output folder")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--vocab-size", type=int, default=1000)
    parser.add_argument("--few-shot", type=Path, default=FEW_SHOT)
    args = parser.parse_args()
    few_shot = json.loads(args.few_shot.read_text(encoding="utf-8"))
    build(read_samples(args.data), few_shot, args.out, args.vocab_size)
    tok = Tokenizer.from_file(str(args.out / "tokenizer.json"))
    print(f"wrote {args.out}: vocabulary {tok.get_vocab_size(with_added_tokens=True)}")


if __name__ == "__main__":
    main()
