import time

from metaflow import FlowSpec, Parameter, step


class LiveFlow(FlowSpec):
    seconds = Parameter("seconds", default=20, help="how long the middle step runs")

    @step
    def start(self):
        self.next(self.slow)

    @step
    def slow(self):
        for i in range(int(self.seconds)):
            print(f"tick {i}", flush=True)
            time.sleep(1)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LiveFlow()
