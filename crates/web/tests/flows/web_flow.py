import sys

from metaflow import FlowSpec, Parameter, card, current, retry, step


class WebTestFlow(FlowSpec):
    alpha = Parameter("alpha", default=3)

    @step
    def start(self):
        print("hello from the start step")
        print("a warning on stderr", file=sys.stderr)
        self.greeting = "bonjour mfstack"
        self.items = [1, 2, 3]
        self.next(self.fan, foreach="items")

    @card
    @step
    def fan(self):
        self.value = self.input * self.alpha
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.value for i in inputs)
        self.next(self.flaky)

    @retry(times=1, minutes_between_retries=0)
    @step
    def flaky(self):
        if current.retry_count == 0:
            raise Exception("the first attempt fails")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    WebTestFlow()
