"""The versions rule on conflicts taken from real history: the sides it resolves as the person
did, and the ones it must leave to a person (the committed number is then in a comment)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzers.resolve import NeedsPerson, Resolved, resolve
from analyzers.resolve.diff3 import Hunk
from analyzers.resolve.records import Context
from analyzers.resolve.rules import rule_versions

VERSIONS = ("same-change", "line-merge", "versions")
FIXTURES = Path(__file__).parent / "fixtures" / "resolve"


def triple(above: str, base: str, ours: str, theirs: str, below: str) -> tuple[bytes, ...]:
    """The three sides of one conflicted line, with the unchanged lines around it."""
    return tuple(f"{above}{line}{below}".encode() for line in (base, ours, theirs))


# -- resolved as committed ---------------------------------------------------------------------

PARENT = "  <parent>\n    <groupId>org.jenkins-ci.main</groupId>\n"
REVISION_ABOVE = "  </issueManagement>\n\n  <properties>\n"
REVISION_BELOW = (
    "    <changelist>-SNAPSHOT</changelist>\n\n    <!-- *.html files are in UTF-8 -->\n"
)


@pytest.mark.parametrize(
    ("path", "sides", "taken"),
    [
        # jenkinsci/jenkins 12e2d459492096943cdc3ce1c62b6761df28569f: a stable line merged into
        # trunk; the development version (-SNAPSHOT just below) stays trunk's
        (
            "pom.xml",
            triple(
                REVISION_ABOVE,
                "    <revision>2.235.2</revision>\n",
                "    <revision>2.251</revision>\n",
                "    <revision>2.235.4</revision>\n",
                REVISION_BELOW,
            ),
            "ours",
        ),
        # spring-projects/spring-framework 97e946698b7ce1cb2be821d88c179db726b7e967: 5.3.x
        # merged into main, which keeps its own development version
        (
            "gradle.properties",
            triple(
                "",
                "version=5.3.23-SNAPSHOT\n",
                "version=6.0.0-SNAPSHOT\n",
                "version=5.3.24-SNAPSHOT\n",
                "org.gradle.jvmargs=-Xmx2048m\norg.gradle.caching=true\n",
            ),
            "ours",
        ),
        # jenkinsci/jenkins 541c31f75cda76577474850eace7819689183b1b: both bumped the parent's
        # minor version: the higher
        (
            "pom.xml",
            triple(
                PARENT + "    <artifactId>jenkins</artifactId>\n",
                "    <version>1.41</version>\n",
                "    <version>1.42</version>\n",
                "    <version>1.43</version>\n",
                "    <relativePath />\n  </parent>\n",
            ),
            "theirs",
        ),
        # git/git bd5c2827b27812eff5766af9fb56b0ea2437f3f5: both moved the same release
        (
            "Documentation/BreakingChanges.adoc",
            triple(
                "   infrastructure.\n",
                "2. In Git 2.53, both build systems will default-enable support for Rust.\n",
                "2. In Git 2.55, both build systems will default-enable support for Rust.\n",
                "2. In Git 2.54, both build systems will default-enable support for Rust.\n",
                "   Consequently, builds will break by default if Rust is not available on the\n",
            ),
            "ours",
        ),
    ],
)
def test_versions_resolved_as_committed(path: str, sides: tuple[bytes, ...], taken: str) -> None:
    base, ours, theirs = sides
    outcome = resolve(path, base, ours, theirs, VERSIONS)
    assert isinstance(outcome, Resolved) and outcome.rule == "versions"
    assert outcome.content == (ours if taken == "ours" else theirs)
    outcome = resolve(path, base, theirs, ours, VERSIONS)  # the same, sides swapped
    assert isinstance(outcome, Resolved)
    assert outcome.content == (ours if taken == "ours" else theirs)


# -- refused -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "sides"),
    [
        # git/git bea9ecd24b0c3bf06cab4a851694fe09e7e51408: maint-2.44 (2.44.2) into 2.45.1;
        # the merge is the release, the person wrote v2.45.2
        (
            "GIT-VERSION-GEN",
            triple(
                "#!/bin/sh\n\nGVF=GIT-VERSION-FILE\n",
                "DEF_VER=v2.44.1\n",
                "DEF_VER=v2.45.1\n",
                "DEF_VER=v2.44.2\n",
                "\nLF='\n'\n",
            ),
        ),
        # git/git: the same shape (v2.44.0, v2.45.0, v2.44.1), where the person kept v2.45.0;
        # a released number bumped at different parts cannot tell the two apart: refused too
        (
            "GIT-VERSION-GEN",
            triple(
                "#!/bin/sh\n\nGVF=GIT-VERSION-FILE\n",
                "DEF_VER=v2.44.0\n",
                "DEF_VER=v2.45.0\n",
                "DEF_VER=v2.44.1\n",
                "\nLF='\n'\n",
            ),
        ),
        # jenkinsci/jenkins c365300f99e286bed71c0f014ae2a6fb248aa5e2: remoting 3.40.1 (a fix of
        # the 3.40 line) against 4.0; the person wrote 4.0.1
        (
            "pom.xml",
            triple(
                "\n    <!-- Bundled Remoting version -->\n",
                "    <remoting.version>3.40</remoting.version>\n",
                "    <remoting.version>3.40.1</remoting.version>\n",
                "    <remoting.version>4.0</remoting.version>\n",
                "    <!-- Minimum Remoting version, which is tested for API compatibility -->\n",
            ),
        ),
        # jenkinsci/jenkins f96110f4c3875e1e42c1e4339c102a12a03669b9: stapler 1.257.1 against
        # 1.256.2; the person wrote 1.257.2
        (
            "core/pom.xml",
            triple(
                "  <properties>\n    <staplerFork>true</staplerFork>\n",
                "    <stapler.version>1.256.1</stapler.version>\n",
                "    <stapler.version>1.257.1</stapler.version>\n",
                "    <stapler.version>1.256.2</stapler.version>\n",
                "    <spring.version>2.5.6.SEC03</spring.version>\n",
            ),
        ),
        # spring-projects/spring-framework 00ca23859e31554cacf39f2b8e73ea53fec31dd1: hibernate
        # 7.3.4 against 7.2.16; the person wrote 7.3.6
        (
            "framework-platform/framework-platform.gradle",
            triple(
                '\t\tapi("org.hamcrest:hamcrest:3.0")\n',
                '\t\tapi("org.hibernate.orm:hibernate-core:7.2.14.Final")\n',
                '\t\tapi("org.hibernate.orm:hibernate-core:7.3.4.Final")\n',
                '\t\tapi("org.hibernate.orm:hibernate-core:7.2.16.Final")\n',
                '\t\tapi("org.hsqldb:hsqldb:2.7.4")\n',
            ),
        ),
        # spring-projects/spring-framework 86ff0371c20fb74a59ae7d6f53e37fdd67e238ec: Java 17
        # against a Java 8 update; the person wrote 17.0.5
        (
            ".sdkmanrc",
            triple(
                "# Add key=value pairs of SDKs to use below\n",
                "java=8.0.345-librca\n",
                "java=17.0.4.1-librca\n",
                "java=8.0.352-librca\n",
                "",
            ),
        ),
        # spring-projects/spring-framework 16bf39ea1ba7fb4edaa6c1dcf35ae6afa453a1cc: theirs
        # went back from 8.45.1 to 8.41 (the person kept 8.41): a downgrade is a decision
        (
            "build.gradle",
            triple(
                "\tcheckstyle {\n",
                '\t\ttoolVersion = "8.45.1"\n',
                '\t\ttoolVersion = "9.0"\n',
                '\t\ttoolVersion = "8.41"\n',
                '\t\tconfigDirectory.set(rootProject.file("src/checkstyle"))\n\t}\n',
            ),
        ),
        # jenkinsci/jenkins 674d5085c333e3f580279ae0dbb8ce032b45c1b9: sizes, not versions
        # (1.125rem read as 1.125 > 1.25); the person kept 1.25rem
        (
            "src/main/scss/components/_command-palette.scss",
            triple(
                "        img {\n",
                "          width: 1.2rem;\n          height: 1.2rem;\n",
                "          width: 1.25rem;\n          height: 1.25rem;\n",
                "          width: 1.125rem;\n          height: 1.125rem;\n",
                "        }\n",
            ),
        ),
    ],
)
def test_versions_refused_where_the_person_decides(path: str, sides: tuple[bytes, ...]) -> None:
    base, ours, theirs = sides
    assert isinstance(resolve(path, base, ours, theirs, VERSIONS), NeedsPerson)
    assert isinstance(resolve(path, base, theirs, ours, VERSIONS), NeedsPerson)


def test_a_development_marker_must_be_on_both_sides() -> None:
    # a development version merged with a released one: different parts raised, refused
    hunk = Hunk(
        base=(b"version=5.3.23-SNAPSHOT\n",),
        ours=(b"version=6.0.0-SNAPSHOT\n",),
        theirs=(b"version=5.3.23\n",),
    )
    ctx = Context("gradle.properties", "config", None)
    assert rule_versions(hunk, ctx) is None


def test_a_number_one_side_left_alone_goes_to_the_side_that_raised_it() -> None:
    ctx = Context("pom.xml", "config", None)
    hunk = Hunk(
        base=(b"<a>1.2</a>\n", b"<b>3.4</b>\n"),
        ours=(b"<a>1.3</a>\n", b"<b>3.4</b>\n"),
        theirs=(b"<a>1.2.1</a>\n", b"<b>3.4</b>\n"),
    )
    assert rule_versions(hunk, ctx) is None  # minor against patch, released
    hunk = Hunk(
        base=(b"<a>1.2</a>\n", b"<b>3.4</b>\n"),
        ours=(b"<a>1.4</a>\n", b"<b>3.4</b>\n"),
        theirs=(b"<a>1.3</a>\n", b"<b>3.4</b>\n"),
    )
    answer = rule_versions(hunk, ctx)
    assert answer is not None and answer.lines == hunk.ours


@pytest.mark.parametrize(
    ("name", "path"),
    [
        # git/git: 2.44.2 merged into 2.45.1, the person wrote v2.45.2
        ("differs-versions-git-version-gen", "GIT-VERSION-GEN"),
        # spring-projects/spring-framework: hibernate 7.3.4 (ours) and 7.2.16 (theirs), the
        # person wrote 7.3.6 (the file's other bumps merge cleanly)
        ("differs-versions-both-bumped-spring", "framework-platform/framework-platform.gradle"),
    ],
)
def test_the_known_misses_are_now_left_to_a_person(name: str, path: str) -> None:
    files = {p: (FIXTURES / name / p).read_bytes() for p in ("base", "ours", "theirs")}
    outcome = resolve(path, files["base"], files["ours"], files["theirs"], VERSIONS)
    assert isinstance(outcome, NeedsPerson)
