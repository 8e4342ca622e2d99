"""The base-model catalog."""

from db.catalog import BASE_MODELS, BaseModel


def base_models() -> tuple[BaseModel, ...]:
    return BASE_MODELS
