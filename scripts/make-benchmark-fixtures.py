#!/usr/bin/env python3
"""Writes the tiny benchmark fixtures under Tests/Fixtures/benchmarks/, each in the published format
of its benchmark, with Python's own csv/json/base64 and PIL (not focus's code), so that the Swift
loaders are tested against files they did not write:

  vstar/    V*Bench: test_questions.jsonl + direct_attributes/ and relative_position/ (JPEG + JSON each)
  hrbench/  HR-Bench: hr_bench_fixture.tsv (pandas-style TSV: fields with tabs, newlines or quotes are
            quoted, quotes doubled), 2 questions x 4 option cycles, base64 JPEG in every row
  mmerw/    MME-RealWorld: MME_RealWorld_fixture.json + images under images/
  bad/      one defect per file: a missing field, bad base64, an unknown answer letter, a missing image

  /work/venv-fixtures/bin/python scripts/make-benchmark-fixtures.py
"""
import base64
import csv
import io
import json
import shutil
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "Tests" / "Fixtures" / "benchmarks"


def picture(w, h, colour, box):
    """A small JPEG: grey background, one coloured rectangle at box (x, y, w, h)."""
    img = Image.new("RGB", (w, h), (128, 128, 128))
    x, y, bw, bh = box
    ImageDraw.Draw(img).rectangle([x, y, x + bw - 1, y + bh - 1], fill=colour)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def vstar(folder: Path):
    records = []
    items = [
        ("direct_attributes", "sa_101", "What is the color of the umbrella?", ["red", "blue", "green", "white"], 0,
         ["umbrella"], [[10, 8, 12, 9]], (200, 30, 30)),
        ("direct_attributes", "sa_102", "What is the material of the glove?", ["rubber", "cotton", "kevlar", "leather"], 0,
         ["glove"], [[40, 20, 8, 8]], (90, 60, 30)),
        ("relative_position", "sa_201", "Is the cup on the left or right side of the dog?", ["left", "right"], 0,
         ["cup", "dog"], [[4, 30, 6, 6], [50, 28, 10, 10]], (30, 30, 200)),
    ]
    # test_questions.jsonl shuffles the options (DeepEyes PR #66): the label is wherever option 0 went.
    shuffles = [[1, 0, 3, 2], [2, 3, 0, 1], [1, 0]]
    for n, ((cat, name, q, options, _, targets, boxes, colour), order) in enumerate(zip(items, shuffles)):
        (folder / cat).mkdir(parents=True, exist_ok=True)
        (folder / cat / f"{name}.jpg").write_bytes(picture(64, 48, colour, boxes[0]))
        (folder / cat / f"{name}.json").write_text(json.dumps(
            {"target_object": targets, "bbox": boxes, "question": q, "options": options}))
        shown = [options[i] for i in order]
        letters = "ABCD"[:len(shown)]
        text = q + "\n" + "\n".join(f"({l}) {o}" for l, o in zip(letters, shown)) + \
            "\nAnswer with the option's letter from the given choices directly."
        records.append({"image": f"{cat}/{name}.jpg", "text": text, "category": cat,
                        "question_id": str(n), "label": letters[order.index(0)]})
    with open(folder / "test_questions.jsonl", "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")


HR_COLUMNS = ["index", "question", "answer", "A", "B", "C", "D", "category", "cycle_category", "image"]


def hr_rows():
    """Two questions, each in its 4 option cycles (the correct option moves A -> D -> C -> B)."""
    questions = [
        ("What is the colour of the small sign?", ["red", "blue", "green", "yellow"], "single", (200, 30, 30)),
        # A question with a tab, a newline and quotes: pandas quotes the field.
        ('Which word is on the "EXIT" sign\tabove the door?\nLook closely.', ["EXIT", "ENTER", "PUSH", "PULL"],
         "cross", (30, 200, 30)),
    ]
    rows, index = [], 0
    for q, options, cat, colour in questions:
        jpeg = base64.b64encode(picture(96, 64, colour, (70, 40, 10, 8))).decode()
        for cycle in range(4):
            shown = options[cycle:] + options[:cycle]
            answer = "ABCD"[shown.index(options[0])]
            rows.append({"index": index, "question": q, "answer": answer, "A": shown[0], "B": shown[1],
                         "C": shown[2], "D": shown[3], "category": cat, "cycle_category": f"cycle_{cycle}",
                         "image": jpeg})
            index += 1
    return rows


def write_tsv(path: Path, rows, columns=HR_COLUMNS):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, delimiter="\t", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in columns})


def mme_records():
    return [
        {"Question_id": "Perception/Monitoring/Vehicle/0000", "Question Type": "Multiple Choice",
         "Image": "Monitoring/cam_0001.jpg", "Text": "How many cars are parked on the left?",
         "Answer choices": ["(A) 1", "(B) 2", "(C) 3", "(D) 4", "(E) The image does not feature the cars."],
         "Ground truth": "B", "Task": "Perception", "Subtask": "Monitoring", "Category": "Vehicle_Counting",
         "Dataset": "synthetic"},
        {"Question_id": "Perception/OCR/Text/0001", "Question Type": "Multiple Choice",
         "Image": "OCR/doc_0002.jpg", "Text": "What is written on the red label?",
         "Answer choices": ["(A) SALE", "(B) OPEN", "(C) CLOSED", "(D) EXIT", "(E) None of the above"],
         "Ground truth": "A", "Task": "Perception", "Subtask": "OCR with Complex Context", "Category": "Text_Recognition"},
        {"Question_id": "Reasoning/Autonomous_Driving/Intention/0002", "Question Type": "Multiple Choice",
         "Image": "AutonomousDriving/front_0003.jpg",
         "Text": "This image shows the front view of the ego car. What should the car do next?",
         "Answer choices": ["(A) Stop", "(B) Turn left", "(C) Go straight", "(D) Turn right", "(E) Reverse"],
         "Ground truth": "C", "Task": "Reasoning", "Subtask": "Autonomous_Driving", "Category": "Intention"},
    ]


def mmerw(folder: Path):
    records = mme_records()
    for n, r in enumerate(records):
        p = folder / "images" / r["Image"]
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(picture(80, 60, (40 * n, 100, 200 - 40 * n), (10 + 10 * n, 10, 12, 12)))
    (folder / "MME_RealWorld_fixture.json").write_text(json.dumps(records, indent=1))


def bad(folder: Path):
    rows = hr_rows()[:2]
    r = dict(rows[1]); del r["answer"]
    write_tsv(folder / "hrbench_missing_field.tsv", [rows[0], r])                     # line 3: 'answer'
    r = dict(rows[1]); r["image"] = "not base64 at all!"
    write_tsv(folder / "hrbench_bad_base64.tsv", [rows[0], r])                         # line 3: 'image'
    r = dict(rows[1]); r["answer"] = "F"
    write_tsv(folder / "hrbench_unknown_letter.tsv", [rows[0], r])                     # line 3: 'answer'
    write_tsv(folder / "hrbench_missing_column.tsv", rows, [c for c in HR_COLUMNS if c != "category"])
    records = mme_records()
    (folder / "images").mkdir(exist_ok=True)
    for rec in records:
        p = folder / "images" / rec["Image"]
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(picture(32, 24, (10, 10, 10), (2, 2, 4, 4)))
    missing_image = [dict(records[0]), dict(records[1], Image="OCR/not_there.jpg")]   # record 2: 'Image'
    (folder / "mmerw_missing_image.json").write_text(json.dumps(missing_image))
    unknown = [dict(records[0]), dict(records[1], **{"Ground truth": "G"})]          # record 2: 'Ground truth'
    (folder / "mmerw_unknown_letter.json").write_text(json.dumps(unknown))
    no_text = dict(records[1]); del no_text["Text"]
    (folder / "mmerw_missing_field.json").write_text(json.dumps([records[0], no_text]))   # record 2: 'Text'


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    for sub, fn in [("vstar", vstar), ("mmerw", mmerw), ("bad", bad)]:
        (OUT / sub).mkdir(parents=True)
        fn(OUT / sub)
    (OUT / "hrbench").mkdir(parents=True)
    write_tsv(OUT / "hrbench" / "hr_bench_fixture.tsv", hr_rows())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
