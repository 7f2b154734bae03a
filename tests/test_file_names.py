"""Uploaded file names are only echoed, never used as paths or headers."""
from harness.images import encode
from tests.builders import digit_image
from tests.helpers import assert_json_error, post_files


HOSTILE_NAMES = ["../../../../etc/passwd", "..\\..\\windows\\system32\\cmd.exe", "/tmp/x.png",
                 "ümlaut-数字-😀.png", "a" * 1000 + ".png", "<script>alert(1)</script>.png", ".",
                 "con.png"]


def test_hostile_file_names_are_only_echoed_never_used(service, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files = [(name, encode(digit_image())) for name in HOSTILE_NAMES]
    response = post_files(service, *files)
    assert response.status_code == 200
    results = response.get_json()["results"]
    # Multipart quoting turns "\\x" into "x": the name is echoed as the server received it.
    expected = [name.replace("\\", "")[:255] for name in HOSTILE_NAMES]
    assert [entry["filename"] for entry in results] == expected
    assert all(entry["status"] == "ok" for entry in results)
    assert list(tmp_path.iterdir()) == []


def test_a_file_name_carrying_a_header_injection_breaks_only_its_own_part(service):
    bad = ("name\r\nX-Injected: 1.png", encode(digit_image()))
    response = post_files(service, bad)
    assert_json_error(response, 400, "'image'")  # the part is malformed, so no file arrived
    assert "X-Injected" not in response.headers
    response = post_files(service, bad, ("good.png", encode(digit_image())))
    assert response.status_code == 200 and "X-Injected" not in response.headers
    assert response.get_json()["predictions"][0]["prediction"] == 7  # the good file's answer
