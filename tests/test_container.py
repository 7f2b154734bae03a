"""What ships: debug off unless asked for, and the container image runs as a non-root user."""
import shlex

import config
from app import create_app
from harness import ROOT


def test_debug_is_off_unless_asked_for(wrapper):
    assert config.from_env({})["DEBUG"] is False
    assert create_app({}, model=wrapper).debug is False
    for value in ("", "0", "false", "no", "off"):
        assert config.from_env({"DEBUG": value})["DEBUG"] is False


def test_the_container_runs_as_a_non_root_user_with_debug_off():
    lines = [line.split() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    users = [words[1] for words in lines if words and words[0] == "USER"]
    assert users and users[-1] not in ("root", "0")
    environment = final_stage_environment()
    assert environment["MODEL_PATH"].endswith(".tflite")  # the ENV lines were read
    assert config.from_env(environment)["DEBUG"] is False


def final_stage_environment():
    """The variables the Dockerfile's final stage sets with ENV (continued lines joined)."""
    final_stage = (ROOT / "Dockerfile").read_text().replace("\\\n", " ").rsplit("\nFROM ", 1)[1]
    environment = {}
    for line in final_stage.splitlines():
        if line.startswith("ENV "):
            environment.update(pair.split("=", 1) for pair in shlex.split(line[4:]))
    return environment
