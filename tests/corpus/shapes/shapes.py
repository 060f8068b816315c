from dataclasses import replace

from shapes.shapes_interface import Color, Level, Point, Polygon, ShapesInterface


class Shapes(ShapesInterface):
    def centroid(self, polygon: Polygon) -> Point:
        n = len(polygon.points) or 1
        return Point(sum(p.x for p in polygon.points) / n, sum(p.y for p in polygon.points) / n)

    def paint(self, polygon: Polygon, color: Color = Color.GREEN) -> Polygon:
        return replace(polygon, color=color)

    def level(self, level: Level) -> list[Level]:
        return [lv for lv in Level if lv <= level]
