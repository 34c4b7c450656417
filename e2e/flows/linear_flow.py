from metaflow import FlowSpec, Parameter, step


class LinearFlow(FlowSpec):
    alpha = Parameter("alpha", default=3, type=int)

    @step
    def start(self):
        self.x = self.alpha * 2
        self.next(self.middle)

    @step
    def middle(self):
        self.y = self.x + 1
        self.next(self.end)

    @step
    def end(self):
        self.z = [self.x, self.y]


if __name__ == "__main__":
    LinearFlow()
