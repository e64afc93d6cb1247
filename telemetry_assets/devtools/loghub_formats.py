"""Header layouts of the 16 Loghub-2k raw log files, so the benchmark can cut each line into its
header fields and the message body (Content) that the miner sees.

The strings describe the physical layout of each raw file, written in the notation of the Loghub
benchmark settings (Zhu et al., ICSE-SEIP 2019): `<Field>` is one header field, `<Content>` the
rest of the line, a run of spaces matches any run of whitespace. Data and labels:
https://github.com/logpai/loghub (see the pack's LICENSE and CITATION).
"""

from __future__ import annotations

import re
from functools import cache

LOG_FORMATS: dict[str, str] = {
    "HDFS": "<Date> <Time> <Pid> <Level> <Component>: <Content>",
    "Hadoop": r"<Date> <Time> <Level> \[<Process>\] <Component>: <Content>",
    "Spark": "<Date> <Time> <Level> <Component>: <Content>",
    "Zookeeper": r"<Date> <Time> - <Level>  \[<Node>:<Component>@<Id>\] - <Content>",
    "BGL": "<Label> <Timestamp> <Date> <Node> <Time> <NodeRepeat> <Type> <Component> <Level> "
    "<Content>",
    "HPC": "<LogId> <Node> <Component> <State> <Time> <Flag> <Content>",
    "Thunderbird": r"<Label> <Timestamp> <Date> <User> <Month> <Day> <Time> <Location> "
    r"<Component>(\[<PID>\])?: <Content>",
    "Windows": "<Date> <Time>, <Level>                  <Component>    <Content>",
    "Linux": r"<Month> <Date> <Time> <Level> <Component>(\[<PID>\])?: <Content>",
    "Android": "<Date> <Time>  <Pid>  <Tid> <Level> <Component>: <Content>",
    "HealthApp": r"<Time>\|<Component>\|<Pid>\|<Content>",
    "Apache": r"\[<Time>\] \[<Level>\] <Content>",
    "Proxifier": r"\[<Time>\] <Program> - <Content>",
    "OpenSSH": r"<Date> <Day> <Time> <Component> sshd\[<Pid>\]: <Content>",
    "OpenStack": r"<Logrecord> <Date> <Time> <Pid> <Level> <Component> \[<ADDR>\] <Content>",
    "Mac": r"<Month>  <Date> <Time> <User> <Component>\[<PID>\]( \(<Address>\))?: <Content>",
}

_FIELD = re.compile(r"<([^<>]+)>")


@cache
def header_regex(log_format: str) -> re.Pattern[str]:
    """Fields are matched lazily and the literal text between them is kept as written (with
    runs of spaces relaxed to any whitespace), so the last field, Content, takes the rest."""
    parts = _FIELD.split(log_format)
    pattern = "".join(
        rf"(?P<{part}>.*?)" if index % 2 else re.sub(" +", r"\\s+", part)
        for index, part in enumerate(parts)
    )
    return re.compile(f"^{pattern}$")


def split_line(log_format: str, line: str) -> dict[str, str]:
    """A line that does not fit the layout keeps all its text as Content rather than being
    dropped: every LineId must receive a group in the prediction."""
    match = header_regex(log_format).match(line.strip())
    if match is None:
        return {"Content": line.strip()}
    return {name: (value or "") for name, value in match.groupdict().items()}
