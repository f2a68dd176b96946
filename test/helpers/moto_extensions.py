"""Operations the tests need that moto 5.2.5 lacks, added to moto's backends at server start,
and two speed-ups of its DynamoDB that change no answer.

SageMaker UpdateEndpoint: moto implements CreateModel, CreateEndpointConfig, CreateEndpoint and
their Describe calls, but not UpdateEndpoint (its server answers "The UpdateEndpoint action has
not been implemented"). The retrain flow's promote step calls it, so this adds it with AWS's
synchronous checks: the endpoint and the endpoint config must exist, and an endpoint that is not
InService refuses the update. One difference from AWS remains: AWS moves the endpoint to
"Updating" and switches to the new config minutes later (rolling back if it fails); here the
switch is immediate and the endpoint stays InService.

DynamoDB speed-ups (what moto answers is unchanged; only the work it does to get there):
- A table Query (no index) looks only at the queried partition. moto 5.2.5 lists and sorts every
  item of the table for each Query, then keeps the partition's; a pool's ledger is Queried on every
  admission, so a table holding thousands of decisions made each read cost milliseconds.
- TransactWriteItems copies each table it touches once. moto deep-copies the whole table once per
  ITEM of the transaction, before applying any of them, so the copies are identical: one serves.
"""

import copy
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpoint, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse


def _update_endpoint(
    self: SageMakerModelBackend, endpoint_name: str, endpoint_config_name: str
) -> FakeEndpoint:
    endpoint = self.endpoints.get(endpoint_name)
    arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
    if endpoint is None:
        raise ValidationError(message=f"Could not find endpoint '{arn}'.")
    if endpoint.endpoint_status != "InService":
        raise ValidationError(message=f'Cannot update in-progress endpoint "{arn}".')
    config: dict[str, Any] = self.describe_endpoint_config(endpoint_config_name)
    endpoint.endpoint_config_name = endpoint_config_name
    endpoint.production_variants = endpoint._process_production_variants(
        config["ProductionVariants"]
    )
    endpoint.last_modified_time = utcnow()
    return endpoint


def _update_endpoint_response(self: SageMakerResponse) -> ActionResult:
    endpoint = self.sagemaker_backend.update_endpoint(
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
    )
    return ActionResult({"EndpointArn": endpoint.arn})


def _partition_items(table: Table, hash_key: Any) -> list[Any]:
    """The items of one partition in (hash, range) order: what all_items() gives, filtered."""
    partition = table.items.get(hash_key)
    if partition is None:
        return []
    if not table.range_key_attr:
        return [partition]
    return sorted(partition.values(), key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


_moto_query = Table.query


def _query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    if index_name is not None or hash_key is None:
        return _moto_query(self, hash_key, *args, **kwargs)
    # Table.query filters all_items() by hash key; hand it only that partition.
    self.all_items = lambda: _partition_items(self, hash_key)  # type: ignore[method-assign]
    try:
        return _moto_query(self, hash_key, *args, **kwargs)
    finally:
        del self.all_items


class _CopyEachTableOnce:
    """The copy module for one transaction, but a table is deep-copied once and its copy reused."""

    def __init__(self) -> None:
        self.tables: dict[int, Any] = {}

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if not isinstance(value, Table):
            return copy.deepcopy(value, memo)
        if id(value) not in self.tables:
            self.tables[id(value)] = copy.deepcopy(value, memo)
        return self.tables[id(value)]

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


_moto_transact_write_items = DynamoDBBackend.transact_write_items


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    # The method copies tables (moto.dynamodb.models' `copy.deepcopy`) before it applies any item.
    dynamodb_models.copy = _CopyEachTableOnce()  # type: ignore[assignment]
    try:
        _moto_transact_write_items(self, transact_items)
    finally:
        dynamodb_models.copy = copy  # type: ignore[assignment]


def install() -> None:
    Table.query = _query  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    if not hasattr(SageMakerModelBackend, "update_endpoint"):
        SageMakerModelBackend.update_endpoint = _update_endpoint  # type: ignore[attr-defined]
    if not hasattr(SageMakerResponse, "update_endpoint"):
        SageMakerResponse.update_endpoint = _update_endpoint_response  # type: ignore[attr-defined]
