"""Helpers shared by the API test modules."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from kefu.org.models import Staff

API = "/api/v1"


def client_for(user: Staff) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}
