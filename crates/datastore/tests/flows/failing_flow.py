from metaflow import FlowSpec, step


class FailingFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        print("about to fail")
        raise ValueError("this step fails")


if __name__ == "__main__":
    FailingFlow()
