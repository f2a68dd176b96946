"""Operations the tests need that moto 5.2.5 lacks, added to moto's backends at server start.

SageMaker UpdateEndpoint: moto implements CreateModel, CreateEndpointConfig, CreateEndpoint and
their Describe calls, but not UpdateEndpoint (its server answers "The UpdateEndpoint action has
not been implemented"). The retrain flow's promote step calls it, so this adds it with AWS's
synchronous checks: the endpoint and the endpoint config must exist, and an endpoint that is not
InService refuses the update. One difference from AWS remains: AWS moves the endpoint to
"Updating" and switches to the new config minutes later (rolling back if it fails); here the
switch is immediate and the endpoint stays InService.
"""

from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
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


def install() -> None:
    if not hasattr(SageMakerModelBackend, "update_endpoint"):
        SageMakerModelBackend.update_endpoint = _update_endpoint  # type: ignore[attr-defined]
    if not hasattr(SageMakerResponse, "update_endpoint"):
        SageMakerResponse.update_endpoint = _update_endpoint_response  # type: ignore[attr-defined]
