"""createTrainingJob's input: its bounds and the checks that name each invalid field."""

import math
from dataclasses import dataclass

from db.catalog import BY_NAME

# Bounds of createTrainingJob's input: (low, high) inclusive.
LEARNING_RATE = (1e-6, 1e-2)
EPOCHS = (1, 50)
BATCH_SIZE = (1, 1024)
LORA_RANK = (1, 512)
NAME_LENGTH = 100
DATASET_LENGTH = 200


@dataclass(frozen=True)
class JobSpec:
    """What createTrainingJob asks for."""

    model_name: str
    base_model: str
    dataset: str
    learning_rate: float
    epochs: int
    batch_size: int
    lora_rank: int | None


def validate(spec: JobSpec) -> list[tuple[tuple[str, ...], str]]:
    """(field path, message) for every invalid input field; empty when all are valid."""
    problems: list[tuple[tuple[str, ...], str]] = []
    for path, text, limit in (
        ("modelName", spec.model_name, NAME_LENGTH),
        ("dataset", spec.dataset, DATASET_LENGTH),
    ):
        if not text.strip():
            problems.append(((path,), f"{path} must not be empty"))
        elif len(text) > limit:
            problems.append(((path,), f"{path} is {len(text)} characters; at most {limit} are allowed"))
        elif not text.isprintable():
            problems.append(((path,), f"{path} must not contain control characters"))
    if spec.base_model not in BY_NAME:
        choices = ", ".join(BY_NAME)
        problems.append(
            (("baseModel",), f"Unknown base model {spec.base_model[:60]!r}; choose one of {choices}")
        )
    hp = "hyperparameters"
    low_rate, high_rate = LEARNING_RATE
    if not (math.isfinite(spec.learning_rate) and low_rate <= spec.learning_rate <= high_rate):
        problems.append(
            ((hp, "learningRate"), f"learningRate must be between {low_rate:g} and {high_rate:g}")
        )
    for name, number, (low, high) in (
        ("epochs", spec.epochs, EPOCHS),
        ("batchSize", spec.batch_size, BATCH_SIZE),
    ):
        if not low <= number <= high:
            problems.append(((hp, name), f"{name} must be between {low} and {high}, got {number}"))
    if spec.lora_rank is not None and not LORA_RANK[0] <= spec.lora_rank <= LORA_RANK[1]:
        problems.append(
            ((hp, "loraRank"), f"loraRank must be between {LORA_RANK[0]} and {LORA_RANK[1]}, or null")
        )
    return problems
