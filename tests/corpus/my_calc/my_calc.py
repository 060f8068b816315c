from my_calc.my_calc_interface import MyCalcInterface


class MyCalc(MyCalcInterface):
    def add(self, a: int, b: int) -> int:
        return a + b

    def div(self, a: int, b: int) -> float:
        return a / b
