"""Regenerate the real-model corpus: one torchvision model per family, random weights, exported by torch.onnx.

    python tests/corpus/make_torchvision_corpus.py [--families resnet18 vgg11] [--opsets 11 13 17] [--force]
    python tests/corpus/make_torchvision_corpus.py --dynamic-batch --opsets 17   # batch axis dynamic
    python tests/corpus/make_torchvision_corpus.py --dynamo --opsets 18          # torch's default exporter

Writes ``<family>_op<opset>.onnx`` and ``manifest.json`` into ``$ONNUMBA_CORPUS_DIR`` (default
``~/.cache/onnumba/corpus``); the models are never committed. torch and torchvision are fixture tools only
(``pip install torch==2.13.0`` then ``pip install --no-deps torchvision==0.28.0`` here), never a runtime
dependency of onnumba.

Every model is built with ``weights=None`` (nothing is downloaded; segmentation backbones too), seeded, its
constant-valued parameters randomized (:func:`randomize_constants`), in eval mode, batch 1, at the smallest
input its family accepts (each size is in :data:`FAMILIES` with its reason), and exported with the TorchScript
exporter (``dynamo=False``), the one most published ONNX files come from. A family that torch.onnx cannot
export at an opset is written to the manifest with its error, not silently dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
import warnings


def corpus_dir() -> str:
    """The cache folder: ``$ONNUMBA_CORPUS_DIR`` or ``~/.cache/onnumba/corpus``."""
    return os.environ.get("ONNUMBA_CORPUS_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "onnumba",
                                                                 "corpus")


MANIFEST = "manifest.json"
OPSETS = (11, 13, 17)

#: family -> (torchvision builder name, keyword arguments, input height = width, why that size)
FAMILIES = {
    "resnet18": ("resnet18", {}, 32, "5 stride-2 stages, global pool"),
    "mobilenet_v2": ("mobilenet_v2", {}, 32, "5 stride-2 stages, global pool"),
    "mobilenet_v3_small": ("mobilenet_v3_small", {}, 32, "5 stride-2 stages, global pool"),
    "efficientnet_b0": ("efficientnet_b0", {}, 32, "5 stride-2 stages, global pool"),
    "regnet_x_400mf": ("regnet_x_400mf", {}, 32, "5 stride-2 stages, global pool"),
    "shufflenet_v2_x0_5": ("shufflenet_v2_x0_5", {}, 32, "5 stride-2 stages, mean over H, W"),
    "mnasnet0_5": ("mnasnet0_5", {}, 32, "5 stride-2 stages, mean over H, W"),
    "densenet121": ("densenet121", {}, 32, "5 stride-2 stages, global pool"),
    "googlenet": ("googlenet", {"aux_logits": False, "init_weights": True}, 32,
                  "ceil-mode pools down to 1x1, global pool"),
    "inception_v3": ("inception_v3", {"aux_logits": False, "init_weights": True}, 75,
                     "the smallest input its unpadded stem accepts"),
    "squeezenet1_1": ("squeezenet1_1", {}, 32, "ceil-mode pools, global pool"),
    "vgg11": ("vgg11", {}, 224, "AdaptiveAvgPool2d(7) exports only when 7 divides the 1/32 feature map"),
    "alexnet": ("alexnet", {}, 224, "AdaptiveAvgPool2d(6) exports only when 6 divides the feature map"),
    "convnext_tiny": ("convnext_tiny", {}, 32, "4 downsamplings (4, 2, 2, 2), global pool"),
    "vit_b_16": ("vit_b_16", {"image_size": 32}, 32, "image_size 32: 2x2 patches of 16 plus the class token"),
    "swin_t": ("swin_t", {}, 32, "patches of 4 then 3 merges; windows are padded to 7"),
    "fcn_resnet50": ("segmentation.fcn_resnet50", {"weights_backbone": None}, 32, "output stride 8"),
    "deeplabv3_mobilenet_v3_large": ("segmentation.deeplabv3_mobilenet_v3_large", {"weights_backbone": None},
                                     32, "output stride 16"),
    "lraspp_mobilenet_v3_large": ("segmentation.lraspp_mobilenet_v3_large", {"weights_backbone": None}, 32,
                                  "output stride 16 and 8"),
}


def import_torchvision():
    """Import torch and torchvision.

    A torchvision wheel whose compiled ops do not match the torch build fails at import on the fake kernels it
    registers for ``torchvision::nms`` / ``qnms`` ("operator torchvision::nms does not exist"). Classification
    and segmentation models never call those ops, so declaring their schemas first is enough to import.
    """
    import torch

    for op in ("nms", "qnms"):
        try:
            torch.library.define(f"torchvision::{op}", "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        except RuntimeError:  # the compiled extension loaded and already defines it
            pass
    import torchvision

    return torch, torchvision


def build(family: str):
    """The eval-mode module (segmentation models return their ``out`` tensor) and its input tensor."""
    torch, torchvision = import_torchvision()
    name, kwargs, size, _ = FAMILIES[family]
    mod = torchvision.models
    for part in name.split(".")[:-1]:
        mod = getattr(mod, part)
    torch.manual_seed(0)
    model = getattr(mod, name.split(".")[-1])(weights=None, **kwargs).eval()
    if name.startswith("segmentation."):
        inner = model

        class Out(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = inner

            def forward(self, x):
                return self.inner(x)["out"]

        model = Out().eval()
    randomize_constants(model, torch)
    torch.manual_seed(1)
    return model, torch.randn(1, 3, size, size)


def randomize_constants(model, torch) -> None:
    """Give every constant-valued float parameter or buffer random values, so no part of the graph is trivial.

    torchvision's fresh models zero ViT's head (its logits would all be 0, a vacuous comparison), scale
    ConvNeXt's residual branches by 1e-6 and leave every BatchNorm an identity (weight 1, bias 0, mean 0,
    var 1). Zero-ish tensors become N(0, 0.1); the others (BN weights and variances) are scaled by U(0.5, 1.5),
    which keeps variances positive.
    """
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            if not t.is_floating_point() or t.numel() < 2 or bool((t != t.flatten()[0]).any()):
                continue
            v = float(t.flatten()[0])
            if abs(v) < 1e-3:
                t.copy_(0.1 * torch.randn(t.shape, generator=g))
            else:
                t.mul_(0.5 + torch.rand(t.shape, generator=g))


def file_name(family: str, opset: int, dynamic_batch: bool = False, dynamo: bool = False) -> str:
    return f"{family}_op{opset}{'_dyn' if dynamic_batch else ''}{'_dynamo' if dynamo else ''}.onnx"


def export_one(family: str, opset: int, out_dir: str, dynamic_batch: bool = False, dynamo: bool = False) -> dict:
    """Export one family at one opset; the manifest entry (``status`` "ok" or "export_failed" with the error).

    ``dynamic_batch`` declares the batch axis dynamic (``dynamic_axes``), as most published exports do: the
    graph then computes shapes at run time (Shape / Gather / Concat / Reshape chains) instead of constants.
    ``dynamo`` uses torch's default exporter instead (torch.export + onnxscript, opset 18 at least; needs
    ``pip install onnxscript``); it keeps the weights in ``<file>.data`` beside the model, as it does for users.
    """
    torch, torchvision = import_torchvision()
    fname = file_name(family, opset, dynamic_batch, dynamo)
    path = os.path.join(out_dir, fname)
    entry = {"family": family, "opset": opset, "file": fname, "builder": FAMILIES[family][0],
             "input_shape": [1, 3, FAMILIES[family][2], FAMILIES[family][2]], "size_reason": FAMILIES[family][3],
             "constants_randomized": True, "torch": torch.__version__, "torchvision": torchvision.__version__,
             "exporter": "dynamo" if dynamo else "torchscript", "dynamic_batch": dynamic_batch}
    t0 = time.perf_counter()
    try:
        model, x = build(family)
        # eval-mode attention under no_grad takes torch's fused fast path (aten::_native_multi_head_attention),
        # which no ONNX opset expresses; the exporter needs the composite ops, as users exporting ViT do
        torch.backends.mha.set_fastpath_enabled(False)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tmp = path + ".part"
            if dynamo:  # it names the weights file after the model file, so it writes in place
                tmp = path
                torch.onnx.export(model, (x,), path, opset_version=opset, dynamo=True, input_names=["input"],
                                  output_names=["output"], external_data=True,
                                  dynamic_shapes=({0: torch.export.Dim("batch")},) if dynamic_batch else None)
            else:
                torch.onnx.export(model, (x,), tmp, opset_version=opset, dynamo=False, input_names=["input"],
                                  output_names=["output"], do_constant_folding=True,
                                  dynamic_axes=({"input": {0: "batch"}, "output": {0: "batch"}} if dynamic_batch
                                                else None))
        os.replace(tmp, path)
        entry.update(status="ok", bytes=model_bytes(path))
    except Exception as e:  # recorded, not dropped: the manifest says which family/opset torch.onnx refuses
        entry.update(status="export_failed", error=f"{type(e).__name__}: {str(e).strip().splitlines()[0][:300]}",
                     traceback=traceback.format_exc(limit=3)[-1500:])
        for leftover in (path, path + ".data", path + ".part"):
            if os.path.exists(leftover):
                os.remove(leftover)
    entry["seconds"] = round(time.perf_counter() - t0, 1)
    return entry


def model_bytes(path: str) -> int:
    """Size of a model file plus its external weights file (``<file>.data``), if any."""
    data = path + ".data"
    return os.path.getsize(path) + (os.path.getsize(data) if os.path.exists(data) else 0)


def load_manifest(out_dir: str) -> dict:
    """``{file: entry}`` from the manifest next to the models (empty when there is none)."""
    path = os.path.join(out_dir, MANIFEST)
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return {e["file"]: e for e in json.load(f)["models"]}


def save_manifest(out_dir: str, entries: dict) -> None:
    rows = sorted(entries.values(), key=lambda e: e["file"])
    tmp = os.path.join(out_dir, MANIFEST + ".part")
    with open(tmp, "w") as f:
        json.dump({"generator": "tests/corpus/make_torchvision_corpus.py", "models": rows}, f, indent=1)
    os.replace(tmp, os.path.join(out_dir, MANIFEST))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--families", nargs="*", default=list(FAMILIES), choices=list(FAMILIES))
    p.add_argument("--opsets", nargs="*", type=int, default=list(OPSETS))
    p.add_argument("--out", default=corpus_dir(), help="cache folder (default: $ONNUMBA_CORPUS_DIR or "
                                                        "~/.cache/onnumba/corpus)")
    p.add_argument("--force", action="store_true", help="re-export models already present")
    p.add_argument("--dynamo", action="store_true",
                   help="torch's default (torch.export) exporter instead, opset >= 18 (files <...>_dynamo.onnx)")
    p.add_argument("--dynamic-batch", action="store_true",
                   help="export with a dynamic batch axis instead (files <family>_op<opset>_dyn.onnx)")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    entries = load_manifest(args.out)
    for family in args.families:
        for opset in args.opsets:
            fname = file_name(family, opset, args.dynamic_batch, args.dynamo)
            if not args.force and fname in entries and (entries[fname]["status"] != "ok" or
                                                        os.path.exists(os.path.join(args.out, fname))):
                print(f"{fname:45s} kept ({entries[fname]['status']})", flush=True)
                continue
            e = export_one(family, opset, args.out, args.dynamic_batch, args.dynamo)
            entries[fname] = e
            save_manifest(args.out, entries)
            what = f"{e['bytes'] / 1e6:.1f} MB" if e["status"] == "ok" else e["error"]
            print(f"{fname:45s} {e['status']:14s} {e['seconds']:6.1f}s  {what}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
