"""Major projects in the green channel: their cases, their light, priority passes at the halls."""

from central.projects.desk import (
    NewProject,
    ProjectDesk,
    ProjectError,
    UnknownCase,
    UnknownProject,
)
from central.projects.green_channel import GreenChannel
from central.projects.light import MemberCase, ProjectLight, project_light

__all__ = ["GreenChannel", "MemberCase", "NewProject", "ProjectDesk", "ProjectError", "ProjectLight",
           "UnknownCase", "UnknownProject", "project_light"]
