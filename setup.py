"""Build step: ship the one checked-in contract (wsdl/) inside both packages' wheels.

The repository holds the contract once, in wsdl/ (where stub generators look for it); the
build copies it to soap_service/contract/ and client/contract/ in the wheel. An editable
install (`pip install -e .`) reads wsdl/ itself (see soap_service/contract/contract.py and
client/client.py). Everything else is declared in setup.cfg.
"""

from __future__ import annotations

import os

from setuptools import setup
from setuptools.command.build_py import build_py

CONTRACT = os.path.join("wsdl", "highway-traffic.wsdl")
BUNDLED_IN = (os.path.join("soap_service", "contract"), os.path.join("client", "contract"))


class BuildPyWithContract(build_py):
    """build_py, plus the contract copied into each package of the build tree."""

    def run(self) -> None:
        """Build the packages, then add the contract to each (not in editable mode)."""
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads wsdl/ in the source tree
        for folder in BUNDLED_IN:
            target = os.path.join(self.build_lib, folder)
            self.mkpath(target)
            self.copy_file(CONTRACT, os.path.join(target, os.path.basename(CONTRACT)))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        """build_py's outputs plus the bundled contracts (so installers record them)."""
        outputs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            outputs += [os.path.join(self.build_lib, folder, os.path.basename(CONTRACT))
                        for folder in BUNDLED_IN]
        return outputs


setup(cmdclass={"build_py": BuildPyWithContract})
