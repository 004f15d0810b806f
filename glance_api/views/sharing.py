"""Routes of an image's tags and members (mixed into ImageViewSet)."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import services
from ..schema import IMAGE_NOT_FOUND
from ..serializers import MemberSerializer, MemberStatusSerializer


class ImageSharingActions:
    """``images/{id}/tags/``, ``tags/{tag}/``, ``members/`` and ``members/{member_id}/``."""

    @extend_schema(
        responses={
            200: inline_serializer(
                "TagList", {"tags": serializers.ListField(child=serializers.CharField())}
            ),
            404: IMAGE_NOT_FOUND,
        }
    )
    @action(detail=True, methods=["get"], url_path="tags", url_name="tag-list")
    def tag_list(self, request, pk=None):
        """The image's tags."""
        return Response({"tags": services.get_image(self.glance, pk).get("tags", [])})

    @extend_schema(request=None, responses={204: None, 404: IMAGE_NOT_FOUND})
    @action(detail=True, methods=["put", "delete"], url_path=r"tags/(?P<tag>[^/]+)")
    def tags(self, request, pk=None, tag=None):
        """Add (PUT) or remove (DELETE) one tag."""
        if request.method == "PUT":
            services.add_tag(self.glance, pk, tag)
        else:
            services.remove_tag(self.glance, pk, tag)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"],
        responses={
            200: inline_serializer("MemberList", {"members": MemberSerializer(many=True)}),
            404: IMAGE_NOT_FOUND,
        },
    )
    @extend_schema(
        methods=["POST"],
        request=MemberSerializer,
        responses={
            201: MemberSerializer,
            404: IMAGE_NOT_FOUND,
            409: OpenApiResponse(description="Already a member"),
        },
        examples=[
            OpenApiExample(
                "Share with a project",
                request_only=True,
                value={"member_id": "0d5c0d4b3f6e4a4f9d3e6f1b2a7c8d9e"},
            )
        ],
    )
    @action(detail=True, methods=["get", "post"])
    def members(self, request, pk=None):
        """The projects the image is shared with; POST shares it with one more."""
        if request.method == "GET":
            members = services.list_members(self.glance, pk)
            return Response({"members": MemberSerializer(members, many=True).data})
        serializer = MemberSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = services.add_member(self.glance, pk, serializer.validated_data["member_id"])
        return Response(MemberSerializer(member).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        responses={200: MemberSerializer, 404: IMAGE_NOT_FOUND},
        operation_id="glance_images_member_retrieve",
    )
    @extend_schema(
        methods=["PATCH"],
        request=MemberStatusSerializer,
        responses={200: MemberSerializer, 404: IMAGE_NOT_FOUND},
        examples=[OpenApiExample("Accept", request_only=True, value={"status": "accepted"})],
        operation_id="glance_images_member_partial_update",
    )
    @extend_schema(
        methods=["DELETE"],
        responses={204: None, 404: IMAGE_NOT_FOUND},
        operation_id="glance_images_member_destroy",
    )
    @action(
        detail=True, methods=["get", "patch", "delete"], url_path=r"members/(?P<member_id>[^/]+)"
    )
    def member(self, request, pk=None, member_id=None):
        """One member; the member project answers with PATCH status, the owner DELETEs it."""
        if request.method == "GET":
            return Response(MemberSerializer(services.get_member(self.glance, pk, member_id)).data)
        if request.method == "DELETE":
            services.remove_member(self.glance, pk, member_id)
            return Response(status=status.HTTP_204_NO_CONTENT)
        serializer = MemberStatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = services.update_member(
            self.glance, pk, member_id, serializer.validated_data["status"]
        )
        return Response(MemberSerializer(member).data)
