"""``shipyard demo``: the whole loop of DESIGN.md on a laptop, in a minute, with no server.

A synthetic churn problem (``data``) is trained by a pipeline (``pipelines_template``), gated, served in
process (``asgi``), sent traffic that drifts (``traffic``), watched, retrained, canaried and promoted
(``story``), and summed up with its reports (``summary``), in a folder (``folder``) left for the CLI.

>>> from shipyard.demo import DemoOptions, run_demo
>>> result = run_demo(DemoOptions(folder=Path("shipyard-demo")))   # doctest: +SKIP
>>> result.ok, result.champion_before, result.champion_after, result.reports
"""

from shipyard.demo.story import DemoOptions, DemoResult, run_demo

__all__ = ["DemoOptions", "DemoResult", "run_demo"]
