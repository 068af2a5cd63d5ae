"""The location service: who the PAT is (``connectionData``), which resources live where (``OPTIONS _apis``,
``ResourceAreas``): what Microsoft's clients ask before anything else."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twinbridge_tools.simulators.azure_devops.model import AdoRequest, Reply

if TYPE_CHECKING:
    from twinbridge_tools.simulators.azure_devops.simulator import AzureDevOpsSimulator


def connection_data(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    user = request.user
    identity = {
        "id": user.id,
        "descriptor": f"Microsoft.IdentityModel.Claims.ClaimsIdentity;{user.email}",
        "subjectDescriptor": user.descriptor,
        "providerDisplayName": user.display_name,
        "isActive": True,
        "properties": {"Account": {"$type": "System.String", "$value": user.email}},
        "resourceVersion": 2,
        "metaTypeId": 0,
    }
    return Reply(
        200,
        {
            "authenticatedUser": identity,
            "authorizedUser": identity,
            "instanceId": sim.collection_id,
            "deploymentId": sim.account_id,
            "deploymentType": "hosted",
            "locationServiceData": {
                "serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7",
                "defaultAccessMappingMoniker": "PublicAccessMapping",
                "lastChangeId": 1,
                "lastChangeId64": 1,
            },
        },
    )
