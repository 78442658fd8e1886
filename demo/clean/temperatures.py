"""Temperature conversions with input validation."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Reading:
    celsius: float

    @property
    def fahrenheit(self) -> float:
        return self.celsius * 9 / 5 + 32


def parse_reading(text: str) -> Reading:
    value = float(text.strip())
    if value < -273.15:
        raise ValueError(f"{value} is below absolute zero")
    return Reading(celsius=value)


def warmest(readings: list[Reading]) -> Reading | None:
    if not readings:
        return None
    return max(readings, key=lambda reading: reading.celsius)
