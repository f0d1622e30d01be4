from django.http import HttpResponse


def start_new_run(request):
    return HttpResponse("wizard")


class NewRunWizard:
    @classmethod
    def as_view(cls):
        return start_new_run
