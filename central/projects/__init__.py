"""Major projects in the green channel: their cases, their light, priority passes at the halls."""

from central.projects.desk import (
    NewProject,
    ProjectDesk,
    ProjectError,
    UnknownCase,
    UnknownProject,
    case_rows,
)
from central.projects.green_channel import GreenChannel
from central.projects.light import MemberCase, ProjectLight, project_light

__all__ = ["GreenChannel", "MemberCase", "NewProject", "ProjectDesk", "ProjectError", "ProjectLight",
           "UnknownCase", "UnknownProject", "case_rows", "project_light"]
