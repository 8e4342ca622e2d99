"""The base models that training jobs fine-tune."""

from dataclasses import dataclass

from domain import ModelSize


@dataclass(frozen=True)
class BaseModel:
    name: str
    parameter_count: float

    @property
    def model_size(self) -> ModelSize:
        return size_of(self.parameter_count)


def size_of(parameter_count: float) -> ModelSize:
    """NANO under 1B parameters, SMALL under 7B, LARGE from 7B."""
    if parameter_count < 1e9:
        return ModelSize.NANO
    return ModelSize.SMALL if parameter_count < 7e9 else ModelSize.LARGE


BASE_MODELS: tuple[BaseModel, ...] = (
    BaseModel("LFM2-350M", 354_000_000),
    BaseModel("LFM2-700M", 742_000_000),
    BaseModel("LFM2-1.2B", 1_170_000_000),
    BaseModel("LFM2-2.6B", 2_570_000_000),
    BaseModel("LFM2-8B-A1B", 8_340_000_000),
    BaseModel("Llama-3.1-8B", 8_030_000_000),
)
BY_NAME = {model.name: model for model in BASE_MODELS}
