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


# (location id, area, resource name, route template, resource version): the resources a client of this simulator
# finds through ``OPTIONS {org}/_apis`` (the SDK builds every URL from these templates and negotiates the version).
LOCATIONS = [
    ("00d9565f-ed9c-4a06-9a50-00e7896ccab4", "Location", "ConnectionData", "_apis/{resource}", 1),
    ("e81700f7-3be2-46de-8624-2eb35882fcaa", "Location", "ResourceAreas", "_apis/{resource}/{areaId}", 1),
    ("603fe2ac-9723-48b9-88ad-09305aa6c6e1", "core", "projects", "_apis/{resource}/{*projectId}", 4),
    ("72c7ddf8-2cdc-4f60-90cd-ab71c14a399b", "wit", "workItems", "{project}/_apis/{area}/{resource}/{id}", 3),
    ("62d3d110-0047-428c-ad3c-4fe872c91c74", "wit", "workItems", "{project}/_apis/{area}/{resource}/${type}", 3),
    ("908509b6-4248-4475-a1cd-829139ba419f", "wit", "workitemsbatch", "{project}/_apis/{area}/{resource}", 1),
    ("1a9c53f7-f243-4447-b110-35ef023636e4", "wit", "wiql", "{project}/{team}/_apis/{area}/{resource}/{id}", 2),
    (
        "608aac0a-32e1-4493-a863-b9cf4566d257",
        "wit",
        "comments",
        "{project}/_apis/{area}/workItems/{workItemId}/{resource}/{commentId}",
        4,
    ),
    ("e07b5fa4-1499-494d-a496-64b860fd64ff", "wit", "attachments", "{project}/_apis/{area}/{resource}/{id}", 3),
    ("b51fd764-e5c2-4b9b-aaf7-3395cf4bdd94", "wit", "fields", "{project}/_apis/{area}/{resource}/{fieldNameOrRefName}",
     3),
    ("7c8d7a76-4a09-43e8-b5df-bd792f4ac6aa", "wit", "workItemTypes", "{project}/_apis/{area}/{resource}/{type}", 2),
    ("7c9d7a76-4a09-43e8-b5df-bd792f4ac6aa", "wit", "states", "{project}/_apis/{area}/workItemTypes/{type}/{resource}",
     1),
    (
        "9b9f5734-36c8-415e-ba67-f83b45c31408",
        "wit",
        "workItemTypeCategories",
        "{project}/_apis/{area}/{resource}/{category}",
        2,
    ),
]
# (area id, name): where each area lives; all of them at the organization URL here.
AREAS = [
    ("5264459e-e5e0-4bd8-b118-0985e68a4ec5", "wit"),
    ("79134c72-4a58-4b42-976c-04e7115f32bf", "core"),
]


def resource_locations(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    """``OPTIONS {org}/_apis``: ApiResourceLocations, as a collection (no api-version needed)."""
    value = [
        {
            "id": location_id,
            "area": area,
            "resourceName": resource,
            "routeTemplate": template,
            "resourceVersion": version,
            "minVersion": 1.0,
            "maxVersion": 7.1,
            "releasedVersion": "7.1",
        }
        for location_id, area, resource, template, version in LOCATIONS
    ]
    return Reply(200, {"count": len(value), "value": value})


def resource_areas(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    """``GET {org}/_apis/ResourceAreas``: each area's base URL (the organization's own here)."""
    value = [{"id": area_id, "name": name, "locationUrl": sim.url + "/"} for area_id, name in AREAS]
    return Reply(200, {"count": len(value), "value": value})
