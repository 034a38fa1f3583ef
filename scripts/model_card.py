#!/usr/bin/env python3
"""Writes a checkpoint's MODEL_CARD.md from its own files and an evaluation, so the card's numbers
are exactly what `slipstream eval` printed.

Usage:
  slipstream eval --checkpoint CK --split test --out REPORT [--draws N]
  python3 scripts/model_card.py CK REPORT --params N [--eval-command "slipstream eval ..."] > CK/MODEL_CARD.md
(N: the parameter count `slipstream train --json` reports.)
"""
import argparse
import json
from pathlib import Path

ap = argparse.ArgumentParser()
ap.add_argument("checkpoint")
ap.add_argument("report", help="folder holding report.json and report.md from slipstream eval --out")
ap.add_argument("--params", type=int, required=True)
ap.add_argument("--eval-command", default=None)
ap.add_argument("--name", default=None)
ap.add_argument("--history", default=None, help="a Markdown paragraph on how the checkpoint came about")
ap.add_argument("--note", default=None, help="a Markdown paragraph printed after the evaluation")
ap.add_argument("--uncertainty-report", default=None,
                help="folder from `slipstream eval --draws N --out` (N >= 2) on the same split: its σ calibration")
a = ap.parse_args()

ck, report_dir = Path(a.checkpoint), Path(a.report)


def uncertainty_section():
    """The domain and σ calibration stored in the checkpoint, and σ checked on the split."""
    if not a.uncertainty_report:
        return ""
    u = json.load(open(Path(a.uncertainty_report) / "report.json")).get("uncertainty")
    cal = meta.get("uncertainty")
    shape = meta["domain"].get("shape")
    if not u or not cal or not shape:
        raise SystemExit("--uncertainty-report needs a calibrated checkpoint and an eval with --draws >= 2")
    far = max(shape["validation"], key=lambda v: v[1])
    factors = ", ".join(f"{k} {v:.2f}" for k, v in cal["fields"].items())
    rows = []
    for name, c in u["coefficients"].items():
        rows.append(f"| {'Cd' if name == 'cd' else 'Cl'} ({c['runs']} runs) | {100 * c['within_1sigma']:.1f} % | "
                    f"{100 * c['within_2sigma']:.1f} % | {c['spearman_sigma_error']:.3f} | {100 * c['mean_sigma_relative']:.2f} % | |")
    for name, f in u["fields"].items():
        full = f["sparsification"][-1]["error"]
        rows.append(f"| {name} | {100 * f['within_1sigma']:.1f} % | {100 * f['within_2sigma']:.1f} % | "
                    f"{f['spearman_sigma_error']:.3f} | | {100 * f['sparsification'][0]['error'] / full:.1f} % / "
                    f"{100 * f['sparsification'][4]['error'] / full:.1f} % |")
    table = chr(10).join(rows)
    return f"""## Domain and uncertainty (`slipstream calibrate`)

**Domain.** `checkpoint.json` holds the shape descriptors of the {len(shape['members'])} training bodies
(length, proportions, frontal fill, surface area, the directions the surface faces, the D2 distribution of
point distances). `predict` accepts a body up to `domain_score` {shape['threshold']:.2f}: 1.5 × the
farthest validation body ({far[0]}, {far[1]:.2f}; scores are distances to the nearest training body over
the training bodies' median spacing {shape['spacing']:.3f}). Every validation and test body is accepted
(`tests/domain_guard.rs`); a car-sized box, a sphere, a cylinder and the motorbike are refused.

**Uncertainty.** σ is the spread of {cal['draws']} anchor draws times factors fitted on the
{cal['runs']} {cal['split']} runs: Cd {cal['cd']:.2f}, Cl {cal['cl']:.2f}; fields {factors}. Checked on the
test split (`slipstream eval --split test --draws {u['draws']} --out DIR`, `calibration.png` in this folder):

| quantity | within 1σ | within 2σ | Spearman(σ, abs. error) | mean σ / abs. value | error of the 10 % / 50 % most confident points (all: 100 %) |
|---|---|---|---|---|---|
{table}

"""
meta = json.load(open(ck / "checkpoint.json"))
report = json.load(open(report_dir / "report.json"))
report_md = open(report_dir / "report.md").read()
# The log may run past the checkpoint (a run's checkpoint chosen at an earlier step): the card
# describes the checkpoint, so only its history counts.
log = [json.loads(line) for line in open(ck / "log.jsonl")]
log = [r for r in log if r.get("step", 0) <= meta["step"]]
train = [r for r in log if r["kind"] == "train"]
val = [r for r in log if r["kind"] == "val"]
sps = sum(r["seconds_per_step"] for r in train) / max(len(train), 1)
data_dir = Path(meta["data"])
splits = json.load(open(data_dir / "splits.json")) if (data_dir / "splits.json").exists() else None
n_train = len(splits["train"]) if splits else "?"
m, cfg, tcfg = meta["model"], meta["train"], meta["train"]
opt, sched, data, loss = tcfg["optimizer"], tcfg["schedule"], tcfg["data"], tcfg["loss"]
name = a.name or ck.name
eval_command = a.eval_command or f"slipstream eval --checkpoint {ck} --data {meta['data']} --split test"
cd = report["coefficients"]["cd"]
base = report["baselines"]
sp = report["fields"]["surface_pressure"]["rel_l2"]


def beats(f):
    v = report["fields"][f]["rel_l2"]
    return all(v < base[b]["fields"][f]["rel_l2"] for b in base)


fields_lost = [f for f in report["fields"] if not beats(f)]
cd_ok = all(cd["mean_rel_error"] < base[b]["coefficients"]["cd"]["mean_rel_error"] for b in base)
lengths = meta["domain"]["body_length_m"]
print(f"""# {name}: model card

AB-UPT (dim {m['dim']}, {m['num_heads']} heads, trunk "{m['blocks']}", {m['num_surface_blocks']} surface and
{m['num_volume_blocks']} volume decoder blocks; {a.params:,} parameters) trained on the train split
({n_train} runs) of `{meta['data']}`, evaluated on its test split ({report['runs']} runs).

{(a.history + chr(10) + chr(10)) if a.history else ""}## Use

```sh
slipstream predict geometry/ahmed_25deg.stl --checkpoint {ck}
{eval_command}
```

The model predicts the fields of its training data at {meta['domain']['speed_m_s']:g} m/s and
ρ = {meta['domain']['density_kg_m3']:g} kg/m³; `predict` carries them to other speeds and densities by
similarity (fixed Cp, Cf, u/U∞); Reynolds-number effects are not modelled. Bodies of
{lengths[0]:.3f}–{lengths[1]:.3f} m length were seen in training.

## Training

`train.toml` in this folder; reproduce with
`slipstream train --config {ck}/train.toml --data {meta['data']} --out runs/{name}{' --init-from PREVIOUS_STAGE_RUN' if meta.get('init_from') else ''}`{' (it started from ' + meta['init_from'] + ')' if meta.get('init_from') else ''}.
{data['surface_anchors']} surface and {data['volume_anchors']} volume anchors, {data['geometry_points']} CAD points
with {data['supernodes']} supernodes; {opt['kind']} (lr {opt['lr']:g}, wd {opt['weight_decay']:g}), warm-up
{100 * opt['warmup_fraction']:g} % then cosine decay to {100 * opt['final_lr_fraction']:g} %, global gradient norm
clipped at {opt['clip_grad_norm']:g}; loss weights {', '.join(f'{k} {v:g}' for k, v in loss.items())};
{meta['step']} steps at {sps:.2f} s/step ({meta['step'] * sps / 3600:.1f} h). Last logged training loss
{train[-1]['loss']:.4f}; validation loss {val[-1]['loss'] if val else float('nan'):.4f} (sums of per-field MSEs of
standardised channels). `log.jsonl` holds every logged step and validation, `loss.png` the curve.

## Test-split accuracy, as `slipstream eval` printed it

{report_md}

{(a.note + chr(10) + chr(10)) if a.note else ""}Baselines: *mean field* predicts the training split's per-channel mean everywhere (its Cd/Cl are
the training runs' mean coefficients); *nearest geometry* carries over the fields (nearest point)
and coefficients of the training run whose CAD surface is closest (symmetric Chamfer distance).

{uncertainty_section()}## Goals (issue 7) and where the checkpoint stands

| goal | target | measured |
|---|---|---|
| surface pressure relative L2 | ≤ 8 % | {100 * sp:.2f} % |
| Cd mean relative error | ≤ 3 % | {100 * cd['mean_rel_error']:.2f} % |
| Cd R² | ≥ 0.9 | {cd['r2']:.3f} |
| beats both baselines on every field | yes | {'yes' if not fields_lost else 'no: ' + ', '.join(fields_lost)} |
| beats both baselines on Cd | yes | {'yes' if cd_ok else 'no'} |
""")
