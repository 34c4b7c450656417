import sys

from metaflow import FlowSpec, Parameter, card, current, retry, step


class UiCheckFlow(FlowSpec):
    alpha = Parameter("alpha", default=3, help="multiplies every item")
    label = Parameter("label", default="front-end check")

    @step
    def start(self):
        for i in range(5):
            print(f"start line {i} on stdout")
        print("a warning on stderr", file=sys.stderr)
        self.items = [1, 2, 3]
        self.config = {"label": self.label, "alpha": self.alpha}
        self.next(self.fan, foreach="items")

    @card
    @step
    def fan(self):
        self.value = self.input * self.alpha
        print(f"item {self.input} becomes {self.value}")
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.value for i in inputs)
        self.next(self.flaky)

    @retry(times=1, minutes_between_retries=0)
    @step
    def flaky(self):
        if current.retry_count == 0:
            print("the first attempt is about to fail", file=sys.stderr)
            raise Exception("the first attempt fails")
        print("the retry succeeds")
        self.next(self.end)

    @step
    def end(self):
        print(f"total {self.total}")


if __name__ == "__main__":
    UiCheckFlow()
