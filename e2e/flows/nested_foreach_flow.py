from metaflow import FlowSpec, step


class NestedForeachFlow(FlowSpec):
    @step
    def start(self):
        self.outer = ["a", "b", "c"]
        self.next(self.fan, foreach="outer")

    @step
    def fan(self):
        self.letter = self.input
        self.inner = [1, 2]
        self.next(self.leaf, foreach="inner")

    @step
    def leaf(self):
        self.label = f"{self.letter}{self.input}"
        self.next(self.join_inner)

    @step
    def join_inner(self, inputs):
        self.labels = [i.label for i in inputs]
        self.next(self.join_outer)

    @step
    def join_outer(self, inputs):
        self.labels = sorted(l for i in inputs for l in i.labels)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    NestedForeachFlow()
