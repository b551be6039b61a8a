"""`ferlab predict` and `ferlab evaluate`: a model on photos, and on a data set's faces."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ferlab.cli.common import open_store
from ferlab.labels import CLASSES


def _image_files(paths: list[str]) -> list[str] | None:
    """The paths given, each folder replaced by the image files below it (sorted); None, said on
    stderr, when a folder holds none."""
    from ferlab.data.readers import IMAGE_SUFFIXES, image_files

    files = []
    for path in paths:
        if not Path(path).is_dir():
            files.append(path)
            continue
        found = [str(p) for p in image_files(Path(path))]
        if not found:
            print(f"error: {path} is a folder with no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in it",
                  file=sys.stderr)
            return None
        files += found
    return files


def _write_maps(predictor, gray, faces, folder: Path, number: int, photo: str) -> list[Path]:
    """Each face's occlusion map for its label, as PNGs of the face and the map side by side, named by
    the photo's number among those read, its name, the face's number on it and its label."""
    import numpy as np
    from PIL import Image

    from ferlab.inference.explain import occlude, overlays
    from ferlab.inference.predictor import crops

    batch = crops(gray, [f.box for f in faces])
    paths = []
    for i, (face, drawn, f) in enumerate(zip(batch, overlays(batch, occlude(predictor.classify, batch)), faces), 1):
        plain = np.asarray(Image.fromarray(face[..., 0].astype(np.uint8)).convert("RGB").resize(drawn.shape[:2][::-1]))
        paths.append(folder / f"{number:03d}-{Path(photo).stem}-face{i}-{f.label}.png")
        Image.fromarray(np.concatenate([plain, drawn], axis=1)).save(paths[-1])
    return paths


def cmd_predict(args) -> int:
    from ferlab.inference.images import ImageError, load_image
    from ferlab.inference.models import available_models
    from ferlab.inference.predictor import TABLE_COLUMNS, Predictor, table_rows

    images = _image_files(args.images)
    if images is None:
        return 2
    model = args.model
    if model is None:
        choices = available_models(open_store())
        if not choices:
            print("error: no model yet: train one (`ferlab train`) or pass --model PATH.keras", file=sys.stderr)
            return 2
        model = choices[0].path
    if args.csv and (Path(args.csv).is_dir() or not Path(args.csv).expanduser().resolve().parent.is_dir()):
        print(f"error: --csv {args.csv}: name a file to write, in a folder that exists", file=sys.stderr)
        return 2
    if args.explain:
        if Path(args.explain).exists() and not Path(args.explain).is_dir():
            print(f"error: --explain {args.explain} is a file: name a folder for the maps", file=sys.stderr)
            return 2
        try:
            Path(args.explain).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            print(f"error: --explain {args.explain}: cannot make that folder ({e.strerror})", file=sys.stderr)
            return 2
    predictor = Predictor(model, detector=args.detector, tta=args.tta)
    results, rows, failed = [], [], 0
    for path in images:
        try:
            image = load_image(Path(path).read_bytes(), path)
        except (ImageError, OSError) as e:
            print(f"error: {e}", file=sys.stderr)
            failed += 1
            continue
        faces = predictor.predict_gray(image.gray)
        whole = not faces and args.whole
        if whole:
            faces = [predictor.predict_whole(image.gray)]
        results.append({"image": path, "faces": [f.to_dict() for f in faces], "whole_image": whole,
                        "notes": list(image.notes)})
        if args.explain and faces:
            for face, map_path in zip(results[-1]["faces"], _write_maps(predictor, image.gray, faces,
                                                                        Path(args.explain), len(results), path)):
                face["occlusion_map"] = str(map_path)
        rows += table_rows(path, faces, whole)
        if not args.json:
            print(f"{path}: {len(faces)} face(s)" + (" (whole image)" if whole else "")
                  + (f" [{'; '.join(image.notes)}]" if image.notes else ""))
            for i, f in enumerate(faces, 1):
                top = sorted(zip(CLASSES, f.probabilities), key=lambda t: -t[1])[:3]
                print(f"  {i}: {f.label} {f.confidence:.0%} at {f.box.x},{f.box.y} {f.box.w}x{f.box.h}  ("
                      + ", ".join(f"{c} {p:.0%}" for c, p in top) + ")")
            if not faces:
                print("  no face found; --whole classifies the whole image as one face")
    if args.json:
        print(json.dumps({"model": str(model), "results": results}))
    if args.explain:
        maps = sum(len(r["faces"]) for r in results)
        print(f"{maps} occlusion map(s) written to {args.explain}", file=sys.stderr)
    if args.csv:
        import csv

        with open(args.csv, "w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=TABLE_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        print(f"{len(rows)} face(s) of {len(results)} image(s) written to {args.csv}", file=sys.stderr)
    return 1 if failed else 0


def cmd_evaluate(args) -> int:
    from ferlab.data import DataError, load_dataset
    from ferlab.training.evaluate import format_report, metrics_from_predictions, paired, predict_proba

    for path in (args.model, args.against):
        if path and not Path(path).exists():
            print(f"error: {path} does not exist", file=sys.stderr)
            return 2
    model_path = Path(args.model)
    store = open_store()
    dataset = load_dataset(store, args.data, warn=lambda line: print(line, file=sys.stderr))
    total = dataset.total()
    try:
        split = args.split or dataset.eval_split()
    except DataError:       # neither test nor val
        print(f"error: {args.data} marks none of its {total:,} faces as test or val (a CSV without a Usage "
              "column, or train/ alone): --split all scores every one of them, if they are held-out faces",
              file=sys.stderr)
        return 2
    faces = dataset[split]
    if args.split is None and split == "val" and dataset.val_from_train:
        print(f"note: {args.data} has no test split and no val split of its own (a CSV without a Usage "
              f"column, or train/ alone): this scores the {len(faces.labels):,} faces of its train split held "
              f"out as val; --split all scores all {total:,} of its faces (for a file of held-out faces only)",
              file=sys.stderr)
    from ferlab.models.saved import load

    tta = args.tta or False
    predicted = predict_proba(load(model_path), faces.images, tta=tta).argmax(axis=1)
    result = metrics_from_predictions(faces.labels, predicted, tta=tta)
    against = None
    if args.against:
        other = predict_proba(load(args.against), faces.images, tta=tta).argmax(axis=1)
        against = paired(faces.labels, predicted, other)
    if args.json:
        print(json.dumps({"model": str(model_path), "data": args.data, "split": split, **result.to_dict(),
                          "skipped": len(dataset.problems),
                          **({"against": {"model": args.against, **against.to_dict()}} if against else {})}))
    else:
        print(f"{model_path} on {args.data} [{split}]"
              + (" (SYNTHETIC demo set)" if dataset.synthetic else ""))
        print(format_report(result))
        if against:
            print(f"\nagainst {args.against} (same faces, same TTA): {against.other_accuracy:.4f}; difference "
                  f"{against.difference * 100:+.2f} points, paired standard error {against.standard_error * 100:.2f}; "
                  f"right only here {against.only_this:,} faces, only there {against.only_other:,} "
                  f"(exact McNemar p = {against.p_value:.2g})")
    return 0
