import os
import sys

from metaflow import FlowSpec, Parameter, card, current, retry, step


class DatastoreFlow(FlowSpec):
    alpha = Parameter("alpha", default=0.5)
    label = Parameter("label", default="hello")

    @card
    @step
    def start(self):
        print("start says hello")
        print("start warns", file=sys.stderr)
        self.items = [1, 2, 3]
        self.config = {"b": 1, "a": [1, 2.5, "x"], "t": (1,), "none": None, "flag": True}
        self.big = 2**70
        self.blob = b"ab\x00'"
        self.text = "it's"
        self.floats = [0.1, 1e20, 1e-05, float("inf"), float("nan")]
        self.shapes = (set(), frozenset([3]), {"k": {"nested": ("a", "b")}})
        self.large = os.urandom(8000)
        self.next(self.work, foreach="items")

    @retry(times=1)
    @step
    def work(self):
        if self.input == 2 and current.retry_count == 0:
            raise Exception("first attempt fails")
        print("work item %d" % self.input)
        self.out = self.input * 10
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.out for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        for i in range(5):
            print("line %d" % i)
            print("err %d" % i, file=sys.stderr)


if __name__ == "__main__":
    DatastoreFlow()
