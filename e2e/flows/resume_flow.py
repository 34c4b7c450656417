import os

from metaflow import FlowSpec, step


class ResumeFlow(FlowSpec):
    """Fails in `b` while MFSTACK_E2E_FAIL=1; a resume without it finishes the run."""

    @step
    def start(self):
        self.seed = 7
        self.next(self.b)

    @step
    def b(self):
        if os.environ.get("MFSTACK_E2E_FAIL") == "1":
            raise RuntimeError("failing on purpose")
        self.doubled = self.seed * 2
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ResumeFlow()
