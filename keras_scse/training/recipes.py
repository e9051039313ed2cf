"""Training recipes as data, and the one compile step of train, finetune, tuning and the benchmarks."""

import keras

REFERENCE_BATCH = 256  # learning rates in RECIPES are for this global batch; lr scales linearly (Goyal et al.)

RECIPES = {
    # SGD + Nesterov momentum, the SqueezeNext CIFAR recipe's optimiser with cosine decay and label smoothing.
    "sgd": dict(optimizer="sgd", lr=0.2, momentum=0.9, weight_decay=5e-4, label_smoothing=0.1, warmup_epochs=1),
    "adamw": dict(optimizer="adamw", lr=4e-3, weight_decay=0.05, label_smoothing=0.1, warmup_epochs=1),
}

MAX_WARMUP_FRACTION = 0.2  # of the whole schedule: a run shorter than 5 warm-up periods still gets to decay


def scaled_recipe(name, batch_size, **overrides):
    """RECIPES[name] with ``overrides`` (None values ignored); lr scaled linearly to ``batch_size`` unless given."""
    if name not in RECIPES:
        raise ValueError(f"Unknown recipe {name!r}; use one of {sorted(RECIPES)}.")
    recipe = dict(RECIPES[name])
    recipe["lr"] = recipe["lr"] * batch_size / REFERENCE_BATCH
    recipe.update({k: v for k, v in overrides.items() if v is not None})
    return recipe


def make_optimizer(recipe, steps_per_epoch, epochs):
    """The recipe's optimizer on a linear warm-up + cosine decay schedule over ``epochs``.

    The warm-up is capped at MAX_WARMUP_FRACTION of the steps: a 1-epoch run with a 1-epoch warm-up would end
    at the peak rate, with BatchNorm's moving statistics far behind the weights (val loss ~10, chance accuracy).
    """
    total = max(1, epochs * steps_per_epoch)
    warmup = min(int(recipe["warmup_epochs"] * steps_per_epoch), int(MAX_WARMUP_FRACTION * total))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else recipe["lr"],
        decay_steps=max(1, total - warmup),
        warmup_target=recipe["lr"] if warmup else None,
        warmup_steps=warmup,
    )
    weight_decay = recipe["weight_decay"] or None  # 0: no decay ops at all
    if recipe["optimizer"] == "sgd":
        return keras.optimizers.SGD(schedule, momentum=recipe["momentum"], nesterov=True, weight_decay=weight_decay)
    return keras.optimizers.AdamW(schedule, weight_decay=recipe["weight_decay"])


def compile_model(model, recipe, steps_per_epoch, epochs, jit_compile="auto", steps_per_execution=1):
    """Compile for a recipe: its optimizer and schedule, label-smoothed cross-entropy on one-hot labels,
    accuracy. The one compile step of train, finetune, tuning and the benchmarks."""
    model.compile(
        optimizer=make_optimizer(recipe, steps_per_epoch, epochs),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe["label_smoothing"]),
        metrics=["accuracy"],
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    return model
