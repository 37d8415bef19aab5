"""Issuers of a system and programs of an issuer (served by the badges service)."""

from __future__ import annotations

from shared.messages.base import Command, Query
from shared.messages.common import ImageUpload, Scope
from shared.messages.fields import Page
from shared.messages.systems import OrganizationChanges, OrganizationFields


class CreateIssuer(Command):
    TYPE = "badges.create_issuer"
    scope: Scope
    issuer: OrganizationFields
    image: ImageUpload | None = None


class GetIssuer(Query):
    TYPE = "badges.get_issuer"
    scope: Scope


class ListIssuers(Query):
    TYPE = "badges.list_issuers"
    scope: Scope
    page: Page | None = None


class UpdateIssuer(Command):
    TYPE = "badges.update_issuer"
    scope: Scope
    changes: OrganizationChanges
    image: ImageUpload | None = None


class DeleteIssuer(Command):
    TYPE = "badges.delete_issuer"
    scope: Scope


class CreateProgram(Command):
    TYPE = "badges.create_program"
    scope: Scope
    program: OrganizationFields
    image: ImageUpload | None = None


class GetProgram(Query):
    TYPE = "badges.get_program"
    scope: Scope


class ListPrograms(Query):
    TYPE = "badges.list_programs"
    scope: Scope
    page: Page | None = None


class UpdateProgram(Command):
    TYPE = "badges.update_program"
    scope: Scope
    changes: OrganizationChanges
    image: ImageUpload | None = None


class DeleteProgram(Command):
    TYPE = "badges.delete_program"
    scope: Scope
