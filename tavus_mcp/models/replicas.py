"""Replicas (the faces and voices that join a call): GET /v2/replicas and its answers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
)

from tavus_mcp.models.common import (
    _LIMIT_DESCRIPTION,
    _PAGE_DESCRIPTION,
    ApiRequest,
    NonEmptyString,
    PageLimit,
    PageNumber,
    _Response,
)


def _comma_separated_ids(value: str) -> str:
    ids = [part.strip() for part in value.split(",")]
    if not all(ids):
        raise ValueError(f"{value!r} has an empty id; give ids separated by commas, such as 'rfe12d8b9597,r79e1c033f'")
    return ",".join(ids)


class ListReplicasRequest(ApiRequest):
    """GET /v2/replicas."""

    limit: PageLimit | None = Field(None, description=_LIMIT_DESCRIPTION)
    page: PageNumber | None = Field(None, description=_PAGE_DESCRIPTION)
    replica_type: Literal["user", "system"] | None = Field(
        None,
        description="'system' for Tavus's stock replicas, 'user' for the account's own. Leave unset for both.",
    )
    replica_ids: Annotated[NonEmptyString, AfterValidator(_comma_separated_ids)] | None = Field(
        None, description="Only these replicas: ids separated by commas, such as 'rfe12d8b9597,r79e1c033f'."
    )
    model_name: NonEmptyString | None = Field(
        None, description="Only replicas trained on this Phoenix model, such as 'phoenix-4'."
    )
    verbose: bool | None = Field(None, description="true also returns each replica's type (user or system).")


class Replica(_Response):
    replica_id: str
    replica_name: str | None = None
    status: str | None = Field(None, description="'completed' when ready to use; 'started' while training; 'error'.")
    training_progress: str | None = None
    replica_type: str | None = Field(None, description="'system' (stock) or 'user' (the account's own).")
    model_name: str | None = None
    thumbnail_video_url: str | None = None
    created_at: str | None = None


class ReplicaPage(_Response):
    data: list[Replica] = Field(default_factory=list)
    total_count: int | None = None
