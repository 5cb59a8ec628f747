"""`python -m export.unet train ...` and `python -m export.unet info`.

    train --data DIR                         labelled portraits (DIR/images, DIR/masks)
    train --teacher MODEL.onnx --frames SRC  distil a contract model on a video or image folder
    info [--size HxW] [--width N]            parameters and FLOPs

Checkpoints go to --out (last.pt every epoch, best.pt when the score improves); export one
with `python -m export unet --weights OUT/best.pt -o unet.onnx`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from export.flops import count_flops, count_params
from export.unet.data import label_with_teacher, load_labelled, read_frames
from export.unet.model import DEFAULT_WIDTH, UNet
from export.unet.train import Progress, TrainConfig, train
from rtseg.errors import RtsegError
from rtseg.models.contract import parse_size

BAR = 24


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m export.unet", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train on labelled portraits or distil a teacher")
    t.add_argument("--data", type=Path, help="folder with images/ and masks/")
    t.add_argument("--teacher", type=Path, help="contract ONNX model that labels --frames")
    t.add_argument("--frames", type=Path, help="video file or image folder for distillation")
    t.add_argument("--every", type=int, default=3, help="use every N-th frame (default 3)")
    t.add_argument("--max-frames", type=int, default=600)
    t.add_argument("--holdout", type=int, default=10, help="hold back every N-th sample (0: none)")
    t.add_argument("--out", type=Path, default=Path("unet-runs"), help="checkpoint folder")
    t.add_argument("--size", default="256x256", help="training size HxW (multiples of 16)")
    t.add_argument("--epochs", type=int, default=30)
    t.add_argument("--batch", type=int, default=8)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--width", type=int, default=DEFAULT_WIDTH)
    t.add_argument("--seed", type=int, default=0)
    i = sub.add_parser("info", help="parameters and FLOPs")
    i.add_argument("--size", default="256x256")
    i.add_argument("--width", type=int, default=DEFAULT_WIDTH)
    return p


def _size(text: str) -> tuple[int, int]:
    try:
        size = parse_size(text)
    except ValueError as exc:
        raise RtsegError(f"--size: {exc}") from None
    if size[0] % 16 or size[1] % 16:
        raise RtsegError(f"--size must be multiples of 16 for the U-Net, got {text}")
    return size


def _show(p: Progress) -> None:
    done = round(BAR * p.step / p.steps)
    line = (
        f"\repoch {p.epoch}/{p.epochs} [{'#' * done}{'.' * (BAR - done)}] {p.step}/{p.steps}"
        f" loss {p.loss:.4f} iou {p.iou:.3f}"
    )
    if p.step == p.steps:
        line += f" val iou {p.val_iou:.3f}\n" if p.val_iou is not None else "\n"
    sys.stderr.write(line)
    sys.stderr.flush()


def _train(args: argparse.Namespace) -> str:
    distil = args.teacher is not None or args.frames is not None
    if distil == (args.data is not None):
        raise RtsegError("give either --data DIR, or --teacher MODEL.onnx with --frames SRC")
    if distil and (args.teacher is None or args.frames is None):
        raise RtsegError("distillation needs both --teacher MODEL.onnx and --frames SRC")
    size = _size(args.size)
    if distil:
        frames = read_frames(args.frames, args.every, args.max_frames)
        samples = label_with_teacher(args.teacher, frames)
    else:
        samples = load_labelled(args.data)
    hold = args.holdout
    val = [s for k, s in enumerate(samples) if hold and k % hold == hold - 1]
    fit = [s for k, s in enumerate(samples) if not (hold and k % hold == hold - 1)]
    config = TrainConfig(
        size=size,
        epochs=args.epochs,
        batch=args.batch,
        lr=args.lr,
        width=args.width,
        seed=args.seed,
        out=args.out,
    )
    result = train(fit, config, val or None, _show)
    score = (
        f"val iou {result.val_ious[-1]:.3f}" if result.val_ious else f"iou {result.ious[-1]:.3f}"
    )
    return (
        f"trained on {len(fit)} samples ({len(val)} held back): {score}; checkpoints in {args.out}"
    )


def _info(args: argparse.Namespace) -> str:
    size = _size(args.size)
    net = UNet(args.width)
    params, flops = count_params(net), count_flops(net, size)
    return (
        f"U-Net width {args.width}: {params / 1e6:.2f} M parameters, "
        f"{flops / 1e9:.2f} GFLOPs at {args.size}"
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        print(_train(args) if args.command == "train" else _info(args))
    except RtsegError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
