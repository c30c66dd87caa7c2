"""What a model request costs: the user's own prices first, then the ``genai-prices``
package for known models, then the built-in defaults; an unknown model costs $0.

Your config's ``[agent.prices."name"]`` always wins. The few built-in default prices
(OpenAI's list prices, in ``settings``) are a fallback only: ``genai-prices`` knows
hundreds of models, their newer prices and their cached-input prices.

``genai-prices`` takes about 0.4 s to import, so it is imported on the first price asked
for (on the agent's thread, after the first reply), never at start-up, unless a cost
budget is set and the start needs to know whether the model is priced at all.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autogpt_tui.core.settings import AgentSettings, ModelPrice

__all__ = ["Pricing", "unpriced_sentence"]


@dataclass(frozen=True)
class _Library:
    """A model ``genai-prices`` knows: per million tokens, in US dollars."""

    input_per_mtok: float
    cached_input_per_mtok: float
    output_per_mtok: float


class Pricing:
    """Prices the requests of one session: (model, prompt, completion, cached) → USD."""

    def __init__(self, agent: AgentSettings, base_url: str | None = None) -> None:
        self._agent = agent
        self._base_url = base_url
        self._lock = threading.Lock()
        self._known: dict[str, ModelPrice | None] = {}

    def __call__(
        self, model: str, prompt_tokens: int, completion_tokens: int, cached_tokens: int
    ) -> float:
        """The cost in US dollars of one request (``cached_tokens`` are part of
        ``prompt_tokens``); 0.0 for a model nobody prices."""
        price = self.price(model)
        return price.cost(prompt_tokens, completion_tokens, cached_tokens) if price else 0.0

    def price(self, model: str) -> ModelPrice | None:
        """The price of ``model``: yours, else genai-prices', else a default; None if none."""
        with self._lock:
            if model not in self._known:
                self._known[model] = self._look_up(model)
            return self._known[model]

    def is_priced(self, model: str) -> bool:
        """Whether requests to ``model`` cost anything we know of."""
        return self.price(model) is not None

    def _look_up(self, model: str) -> ModelPrice | None:
        from autogpt_tui.core.settings import ModelPrice, default_prices

        own = self._agent.price_for(model)
        if own is not None and own not in default_prices().values():
            return own  # the user's own price wins
        known = _library_price(model, self._base_url)
        if known is not None:
            return ModelPrice(
                input_per_mtok=known.input_per_mtok,
                output_per_mtok=known.output_per_mtok,
                cached_input_per_mtok=known.cached_input_per_mtok,
            )
        return own


def _library_price(model: str, base_url: str | None) -> _Library | None:
    """The model's price per ``genai-prices`` (matched by the endpoint, then by name)."""
    try:
        from genai_prices import Usage, calc_price
    except ImportError:  # pragma: no cover - a dependency; a broken install prices nothing
        return None
    million = 1_000_000
    # The endpoint names the provider best; a local server often serves a known model.
    for url in dict.fromkeys([base_url, None]):
        try:
            fresh = calc_price(Usage(input_tokens=million), model, provider_api_url=url)
            both = Usage(input_tokens=million, cache_read_tokens=million)
            cached = calc_price(both, model, provider_api_url=url)
            output = calc_price(Usage(output_tokens=million), model, provider_api_url=url)
        except (LookupError, ValueError):
            continue
        return _Library(
            input_per_mtok=float(fresh.total_price),
            cached_input_per_mtok=float(cached.total_price),
            output_per_mtok=float(output.total_price),
        )
    return None


def unpriced_sentence(model: str, budget: float) -> str:
    """The warning for a cost budget that cannot work: the model has no known price."""
    return (
        f"The model {model!r} has no known price, so the cost budget (${budget:.2f}) cannot be "
        f'enforced and the cost will read $0; set [agent.prices."{model}"] in your config '
        "to price it."
    )
