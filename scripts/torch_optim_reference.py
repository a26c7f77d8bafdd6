#!/usr/bin/env python3
"""Reference numbers for bend's optimizer and learning-rate-schedule tests, from real PyTorch.

Run once (python3 scripts/torch_optim_reference.py) and paste the printed C++ constants into
tests/test_optim.cpp and tests/test_lr_scheduler.cpp; the tests themselves do not need torch.
Each optimizer case starts from the same float32 parameter and applies a fixed gradient sequence
(magnitudes shrink so AMSGrad's running maximum matters); it prints the parameter after every step.
Each RMSprop case runs the same sequence. It also prints the constructor defaults of every optimizer in
bend's registry, as bend names them (Adam's betas split into beta1 and beta2, flags as 0/1).
Each schedule case prints the learning rate in force during epochs 0, 1, 2, ... (scheduler.step()
is called at the end of every epoch, as in PyTorch's training-loop convention).
"""
import inspect
import math

import torch

torch.set_default_dtype(torch.float32)

INITIAL = [0.5, -1.25, 2.0, -0.1]
GRADS = [
    [0.3, -0.8, 1.5, 0.05],
    [-0.2, -0.6, 1.0, 0.1],
    [0.1, 0.4, 0.2, -0.3],
    [0.05, -0.1, 0.1, 0.0],
    [-0.4, 0.2, -0.05, 0.02],
]


def run_optimizer(make):
    p = torch.tensor(INITIAL, requires_grad=True)
    opt = make([p])
    rows = []
    for g in GRADS:
        p.grad = torch.tensor(g)
        opt.step()
        rows.append([float(x) for x in p.detach()])
    return rows


OPTIMIZER_CASES = {
    "sgd_plain": lambda ps: torch.optim.SGD(ps, lr=0.1),
    "sgd_momentum": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
    "sgd_dampening": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.3),
    "sgd_nesterov": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    "sgd_weight_decay": lambda ps: torch.optim.SGD(ps, lr=0.1, weight_decay=0.05),
    "sgd_all": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1),
    "adam_plain": lambda ps: torch.optim.Adam(ps, lr=0.1, foreach=False),
    "adam_weight_decay": lambda ps: torch.optim.Adam(ps, lr=0.1, weight_decay=0.1, foreach=False),
    "adam_amsgrad": lambda ps: torch.optim.Adam(ps, lr=0.1, amsgrad=True, foreach=False),
    "adam_all": lambda ps: torch.optim.Adam(ps, lr=0.05, betas=(0.8, 0.95), eps=1e-3, weight_decay=0.2,
                                             amsgrad=True, foreach=False),
    "adamw_plain": lambda ps: torch.optim.AdamW(ps, lr=0.1, foreach=False),
    "adamw_weight_decay": lambda ps: torch.optim.AdamW(ps, lr=0.1, weight_decay=0.5, foreach=False),
    "adamw_amsgrad": lambda ps: torch.optim.AdamW(ps, lr=0.1, weight_decay=0.5, amsgrad=True, foreach=False),
    "rmsprop_plain": lambda ps: torch.optim.RMSprop(ps, lr=0.01, foreach=False),
    "rmsprop_momentum": lambda ps: torch.optim.RMSprop(ps, lr=0.01, momentum=0.9, foreach=False),
    "rmsprop_centered": lambda ps: torch.optim.RMSprop(ps, lr=0.01, centered=True, foreach=False),
    "rmsprop_weight_decay": lambda ps: torch.optim.RMSprop(ps, lr=0.01, weight_decay=0.1, foreach=False),
    "rmsprop_all": lambda ps: torch.optim.RMSprop(ps, lr=0.005, alpha=0.9, eps=1e-3, weight_decay=0.2,
                                                   momentum=0.5, centered=True, foreach=False),
}

# bend's registry name -> PyTorch class, for the defaults table.
REGISTRY_CLASSES = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
}
# Keywords of PyTorch's optimizers that bend does not have (implementation choices, maximize).
NOT_IN_BEND = {"params", "foreach", "maximize", "differentiable", "capturable", "fused"}


def torch_defaults(cls):
    """The constructor defaults under bend's option names; options without a default are left out."""
    defaults = {}
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or name in NOT_IN_BEND:
            continue
        value = parameter.default
        if value is inspect.Parameter.empty or not isinstance(value, (bool, int, float, tuple)):
            continue  # e.g. SGD's lr, which is `required`
        if name == "betas":
            defaults["beta1"], defaults["beta2"] = (float(v) for v in value)
        else:
            defaults[name] = float(value)
    return defaults


def lr_sequence(make_scheduler, epochs, metrics=None, base_lr=0.1):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = make_scheduler(opt)
    lrs = []
    for epoch in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()  # keeps PyTorch from warning about the call order
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[epoch])
    return lrs


S = torch.optim.lr_scheduler
PLATEAU_METRICS_MIN = [1.0, 0.9, 0.9, 0.95, 0.91, 0.85, 0.86, 0.87, 0.87, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8,
                       0.8, 0.8, 0.8, 0.8, 0.8]
PLATEAU_METRICS_MAX = [0.1, 0.2, 0.25, 0.2505, 0.24, 0.3, 0.3, 0.3, 0.3, 0.31, 0.3, 0.3, 0.3, 0.3]


SCHEDULE_CASES = {
    "step_lr": (lambda o: S.StepLR(o, step_size=3, gamma=0.5), 12, None),
    "cosine": (lambda o: S.CosineAnnealingLR(o, T_max=5, eta_min=0.01), 14, None),
    "plateau_min": (lambda o: S.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=2, cooldown=1,
                                                  min_lr=0.02), len(PLATEAU_METRICS_MIN), PLATEAU_METRICS_MIN),
    "plateau_max_abs": (lambda o: S.ReduceLROnPlateau(o, mode="max", factor=0.1, patience=1,
                                                      threshold=0.01, threshold_mode="abs"),
                        len(PLATEAU_METRICS_MAX), PLATEAU_METRICS_MAX),
}


def cpp_list(values):
    return "{" + ", ".join(f"{v:.17g}" for v in values) + "}"


def main():
    print(f"// Produced by scripts/torch_optim_reference.py with PyTorch {torch.__version__}.")
    for name, make in OPTIMIZER_CASES.items():
        rows = run_optimizer(make)
        print(f"const std::vector<std::vector<double>> kTorch_{name} = {{")
        for row in rows:
            print(f"    {cpp_list(row)},")
        print("};")
    print("const std::map<std::string, std::map<std::string, double>> kTorchDefaults = {")
    for name, cls in REGISTRY_CLASSES.items():
        entries = ", ".join(f'{{"{k}", {v:.17g}}}' for k, v in torch_defaults(cls).items())
        print(f'    {{"{name}", {{{entries}}}}},')
    print("};")
    for name, (make, epochs, metrics) in SCHEDULE_CASES.items():
        print(f"const std::vector<double> kTorch_{name} = {cpp_list(lr_sequence(make, epochs, metrics))};")


if __name__ == "__main__":
    main()
